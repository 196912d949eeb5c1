use clap::Parser;

fn main() -> std::process::ExitCode {
    neuralhead::memory::limit_heap_arenas();
    env_logger::Builder::from_env(
        env_logger::Env::default().default_filter_or("warn,neuralhead=info"),
    )
    .init();
    match neuralhead::cli::run(neuralhead::cli::Cli::parse()) {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("error: {err:#}");
            std::process::ExitCode::FAILURE
        }
    }
}
