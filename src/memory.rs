//! The process's heap and CPU time.

/// Limits glibc's heap to two arenas. By default every thread that allocates may get an
/// arena of its own (up to eight per core); the UI, the render thread and the workers of
/// burn and tract each fragment theirs, and a viewer left open keeps growing after its work
/// stopped changing. The soak (`bench --steps soak`) grew 43 MiB between frames 500 and 1000
/// with the default (then stayed); with two arenas, 1.4 MiB. Call it first thing in `main`.
pub fn limit_heap_arenas() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: mallopt only sets an allocator parameter; it is called before other threads.
    unsafe {
        libc::mallopt(libc::M_ARENA_MAX, 2);
    }
}

/// CPU seconds the process has used, all threads, user and system (0 where unknown).
pub fn cpu_seconds() -> f64 {
    #[cfg(unix)]
    {
        let mut usage = std::mem::MaybeUninit::<libc::rusage>::zeroed();
        // SAFETY: getrusage fills the struct it is given.
        if unsafe { libc::getrusage(libc::RUSAGE_SELF, usage.as_mut_ptr()) } == 0 {
            // SAFETY: initialised by the successful call.
            let usage = unsafe { usage.assume_init() };
            let seconds = |t: libc::timeval| t.tv_sec as f64 + t.tv_usec as f64 * 1e-6;
            return seconds(usage.ru_utime) + seconds(usage.ru_stime);
        }
    }
    0.0
}
