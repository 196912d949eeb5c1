//! The one wgpu device that burn, our WGSL kernels and egui share.
//!
//! We pick the adapter ourselves (so `--adapter` can name any of them and a missing driver
//! gets a clear message), request the device the way cubecl would (every adapter feature
//! except MAPPABLE_PRIMARY_BUFFERS, the adapter's limits), then register it with burn.

use burn::tensor::wgpu::{WgpuSetup, wgpu};

/// What every kernel in this crate needs from an adapter; checked at start-up.
const MIN_STORAGE_BINDING_BYTES: u64 = 128 << 20;
const MIN_STORAGE_BUFFERS_PER_STAGE: u32 = 8;
const MIN_INVOCATIONS_PER_WORKGROUP: u32 = 256;

const NO_ADAPTER_HELP: &str = "No GPU adapter (Vulkan, Metal or DX12) was found.\n\
     Install a GPU driver; on a machine without one, Mesa's CPU Vulkan driver works:\n\
     Debian/Ubuntu: `sudo apt install mesa-vulkan-drivers`, Fedora: `sudo dnf install mesa-vulkan-drivers`.";

#[derive(Debug, thiserror::Error)]
pub enum GpuError {
    #[error("{NO_ADAPTER_HELP}")]
    NoAdapter,
    #[error("no GPU adapter matches `{wanted}`; available adapters:\n{available}")]
    NoMatchingAdapter { wanted: String, available: String },
    #[error(
        "the GPU adapter `{adapter}` is too limited: {what}. Choose another adapter with --adapter."
    )]
    Insufficient { adapter: String, what: String },
    #[error("could not create a device on `{adapter}`: {source}")]
    RequestDevice {
        adapter: String,
        source: wgpu::RequestDeviceError,
    },
    #[error("burn could not use the device on `{adapter}`: {message}")]
    Burn { adapter: String, message: String },
}

/// Which adapter to use: the best one, or one named on the command line.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub enum AdapterChoice {
    /// A discrete GPU, else an integrated one, else any other, else a CPU device.
    #[default]
    Auto,
    /// The CPU device (Mesa lavapipe); what the tests use.
    Cpu,
    /// The adapter at this index of [`list_adapters`].
    Index(usize),
    /// The first adapter whose name contains this text (case-insensitive).
    Name(String),
}

impl std::str::FromStr for AdapterChoice {
    type Err = std::convert::Infallible;
    fn from_str(text: &str) -> Result<Self, Self::Err> {
        Ok(match text.trim().to_ascii_lowercase().as_str() {
            "" | "auto" => Self::Auto,
            "cpu" => Self::Cpu,
            other => match other.parse::<usize>() {
                Ok(index) => Self::Index(index),
                Err(_) => Self::Name(other.to_string()),
            },
        })
    }
}

/// The shared device: burn's handle to it and the raw wgpu handles for egui and our passes.
#[derive(Clone)]
pub struct Gpu {
    pub burn: burn::tensor::Device,
    pub instance: wgpu::Instance,
    pub adapter: wgpu::Adapter,
    pub device: wgpu::Device,
    pub queue: wgpu::Queue,
    pub info: wgpu::AdapterInfo,
}

impl Gpu {
    /// Opens the chosen adapter and registers its device with burn.
    pub fn new(choice: &AdapterChoice) -> Result<Self, GpuError> {
        let instance = new_instance();
        let adapters = pollster::block_on(instance.enumerate_adapters(wgpu::Backends::PRIMARY));
        let adapter = pick_adapter(adapters, choice)?;
        let info = adapter.get_info();
        check_limits(&adapter)?;
        let (device, queue) = pollster::block_on(
            adapter.request_device(&device_descriptor(&adapter)),
        )
        .map_err(|source| GpuError::RequestDevice {
            adapter: info.name.clone(),
            source,
        })?;
        let setup = WgpuSetup {
            instance: instance.clone(),
            adapter: adapter.clone(),
            device: device.clone(),
            queue: queue.clone(),
            backend: info.backend,
        };
        let burn = burn::tensor::Device::wgpu_options()
            .setup(setup)
            .init()
            .map_err(|err| GpuError::Burn {
                adapter: info.name.clone(),
                message: err.to_string(),
            })?;
        super::device_copy::register(&burn, &device, &queue);
        log::info!(
            "GPU: {} ({:?}, {:?})",
            info.name,
            info.device_type,
            info.backend
        );
        Ok(Self {
            burn,
            instance,
            adapter,
            device,
            queue,
            info,
        })
    }

    /// True on a CPU device such as lavapipe: everything works, slowly.
    pub fn is_cpu(&self) -> bool {
        self.info.device_type == wgpu::DeviceType::Cpu
    }

    /// One line for logs and the UI: name, kind and graphics API.
    pub fn describe(&self) -> String {
        describe(&self.info)
    }

    /// The handles eframe needs to draw on this same device.
    pub fn wgpu_setup(&self) -> WgpuSetup {
        WgpuSetup {
            instance: self.instance.clone(),
            adapter: self.adapter.clone(),
            device: self.device.clone(),
            queue: self.queue.clone(),
            backend: self.info.backend,
        }
    }

    /// Waits until every queued burn and wgpu command has finished.
    pub fn sync(&self) {
        // A failed sync means a lost device, which the next submission reports.
        let _ = burn::tensor::Device::sync(&self.burn);
        let _ = self.device.poll(wgpu::PollType::wait_indefinitely());
    }
}

fn new_instance() -> wgpu::Instance {
    wgpu::Instance::new(wgpu::InstanceDescriptor {
        backends: wgpu::Backends::PRIMARY,
        ..wgpu::InstanceDescriptor::new_without_display_handle()
    })
}

/// Every adapter this machine offers, one line each, numbered as `--adapter N` expects.
pub fn list_adapters() -> Vec<String> {
    adapter_infos()
        .iter()
        .enumerate()
        .map(|(i, info)| format!("{i}: {}", describe(info)))
        .collect()
}

/// The names of the adapters this machine offers (what `AdapterChoice::Name` matches).
pub fn adapter_names() -> Vec<String> {
    adapter_infos().into_iter().map(|info| info.name).collect()
}

fn adapter_infos() -> Vec<wgpu::AdapterInfo> {
    let instance = new_instance();
    pollster::block_on(instance.enumerate_adapters(wgpu::Backends::PRIMARY))
        .iter()
        .map(|a| a.get_info())
        .collect()
}

fn describe(info: &wgpu::AdapterInfo) -> String {
    let kind = match info.device_type {
        wgpu::DeviceType::DiscreteGpu => "discrete GPU",
        wgpu::DeviceType::IntegratedGpu => "integrated GPU",
        wgpu::DeviceType::VirtualGpu => "virtual GPU",
        wgpu::DeviceType::Cpu => "CPU device, slow",
        wgpu::DeviceType::Other => "other",
    };
    format!("{} ({kind}, {:?})", info.name, info.backend)
}

fn pick_adapter(
    adapters: Vec<wgpu::Adapter>,
    choice: &AdapterChoice,
) -> Result<wgpu::Adapter, GpuError> {
    if adapters.is_empty() {
        return Err(GpuError::NoAdapter);
    }
    let available = || {
        adapters
            .iter()
            .enumerate()
            .map(|(i, a)| format!("  {i}: {}", describe(&a.get_info())))
            .collect::<Vec<_>>()
            .join("\n")
    };
    let found = match choice {
        AdapterChoice::Auto => {
            let rank = |a: &wgpu::Adapter| match a.get_info().device_type {
                wgpu::DeviceType::DiscreteGpu => 0,
                wgpu::DeviceType::IntegratedGpu => 1,
                wgpu::DeviceType::VirtualGpu | wgpu::DeviceType::Other => 2,
                wgpu::DeviceType::Cpu => 3,
            };
            adapters.iter().min_by_key(|a| rank(a)).cloned()
        }
        AdapterChoice::Cpu => adapters
            .iter()
            .find(|a| a.get_info().device_type == wgpu::DeviceType::Cpu)
            .cloned(),
        AdapterChoice::Index(i) => adapters.get(*i).cloned(),
        AdapterChoice::Name(name) => adapters
            .iter()
            .find(|a| {
                a.get_info()
                    .name
                    .to_ascii_lowercase()
                    .contains(name.as_str())
            })
            .cloned(),
    };
    found.ok_or_else(|| GpuError::NoMatchingAdapter {
        wanted: format!("{choice:?}"),
        available: available(),
    })
}

fn check_limits(adapter: &wgpu::Adapter) -> Result<(), GpuError> {
    let limits = adapter.limits();
    let name = adapter.get_info().name;
    let fail = |what: String| {
        Err(GpuError::Insufficient {
            adapter: name.clone(),
            what,
        })
    };
    let downlevel = adapter.get_downlevel_capabilities();
    if !downlevel
        .flags
        .contains(wgpu::DownlevelFlags::COMPUTE_SHADERS)
    {
        return fail("it cannot run compute shaders".into());
    }
    if limits.max_storage_buffer_binding_size < MIN_STORAGE_BINDING_BYTES {
        return fail(format!(
            "storage buffers are limited to {} MiB, 128 MiB are needed",
            limits.max_storage_buffer_binding_size >> 20
        ));
    }
    if limits.max_storage_buffers_per_shader_stage < MIN_STORAGE_BUFFERS_PER_STAGE {
        return fail(format!(
            "{} storage buffers per shader stage, {MIN_STORAGE_BUFFERS_PER_STAGE} are needed",
            limits.max_storage_buffers_per_shader_stage
        ));
    }
    if limits.max_compute_invocations_per_workgroup < MIN_INVOCATIONS_PER_WORKGROUP {
        return fail(format!(
            "{} invocations per workgroup, {MIN_INVOCATIONS_PER_WORKGROUP} are needed",
            limits.max_compute_invocations_per_workgroup
        ));
    }
    Ok(())
}

/// The descriptor cubecl itself would use, so burn's kernels find every feature they assume.
fn device_descriptor(adapter: &wgpu::Adapter) -> wgpu::DeviceDescriptor<'static> {
    wgpu::DeviceDescriptor {
        label: Some("neuralhead shared device"),
        required_features: adapter
            .features()
            .difference(wgpu::Features::MAPPABLE_PRIMARY_BUFFERS),
        required_limits: adapter.limits(),
        memory_hints: wgpu::MemoryHints::MemoryUsage,
        ..Default::default()
    }
}
