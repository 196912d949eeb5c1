//! What the viewer remembers across restarts: render settings, camera, expression presets
//! and recent avatar files, as JSON in the user's config folder (written atomically).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::fadm::SamplerPreset;
use crate::render::camera::OrbitCamera;
use crate::render::decoder::FEATURES;
use crate::render::marcher::Marcher;
use crate::rig::RigParams;

/// Recent avatar files kept.
const RECENT: usize = 8;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Settings {
    /// Neural rendering resolution N of the full frame.
    pub resolution: usize,
    /// Samples per ray relative to 48 + 48.
    pub samples_scale: f64,
    pub marcher: Marcher,
    pub view: ViewChoice,
    /// Channels of the feature view.
    pub channels: [usize; 3],
    /// While the hand moves: a quicker frame at half the resolution and samples.
    pub preview_while_dragging: bool,
    /// When the hand rests: the full frame again at 2N, 4N… while the adapter keeps up.
    pub sharpen_when_resting: bool,
    /// Draw the skinned rig's edges over the neural frame.
    pub mesh_overlay: bool,
    pub camera: OrbitCamera,
    pub presets: BTreeMap<String, RigParams>,
    pub recent_files: Vec<PathBuf>,
    pub refinement: RefineSettings,
    pub generator: GeneratorSettings,
    pub window: WindowLayout,
    /// The adapter the viewer opens when `--adapter` is not given: `auto`, `cpu` or (part
    /// of) an adapter's name. Read at start: the window and the networks share one device.
    pub adapter: String,
}

/// The neural resolutions a settings file may ask for (the panel offers 32 … 512).
const MIN_RESOLUTION: usize = 16;
const MAX_RESOLUTION: usize = 1024;

/// FADM refinement on idle.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct RefineSettings {
    pub enabled: bool,
    /// Converted weights (tools/convert_fadm.py).
    pub weights: PathBuf,
    pub preset: SamplerPreset,
    pub seed: u32,
    /// Seconds per denoising step measured on each adapter, for the expected time.
    pub seconds_per_step: BTreeMap<String, f64>,
}

impl Default for RefineSettings {
    fn default() -> Self {
        Self {
            enabled: false,
            weights: PathBuf::from(crate::cli::refine::DEFAULT_WEIGHTS),
            preset: SamplerPreset::Default,
            seed: 0,
            seconds_per_step: BTreeMap::new(),
        }
    }
}

/// The window's size and the control panel's width, in points.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct WindowLayout {
    pub size: [f32; 2],
    pub panel_width: f32,
}

impl Default for WindowLayout {
    fn default() -> Self {
        Self {
            size: [1180.0, 760.0],
            panel_width: 360.0,
        }
    }
}

impl WindowLayout {
    /// Sizes out of reason (a corrupt file, a monitor since removed) fall back to defaults.
    pub fn sane(self) -> Self {
        let default = Self::default();
        let size_ok = self
            .size
            .iter()
            .all(|s| s.is_finite() && (320.0..=16384.0).contains(s));
        let width_ok = self.panel_width.is_finite() && (120.0..=2000.0).contains(&self.panel_width);
        Self {
            size: if size_ok { self.size } else { default.size },
            panel_width: if width_ok {
                self.panel_width
            } else {
                default.panel_width
            },
        }
    }
}

/// Avatars from a Next3D checkpoint.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct GeneratorSettings {
    /// Converted with tools/convert_next3d.py.
    pub checkpoint: PathBuf,
    /// The user's FLAME 2020, converted with tools/convert_flame.py.
    pub flame_rig: PathBuf,
    pub seed: u32,
    /// Truncation toward the mean w.
    pub psi: f64,
    /// Show the super-resolution network's 512² image (avatars from a checkpoint).
    pub super_resolution: bool,
}

impl Default for GeneratorSettings {
    fn default() -> Self {
        Self {
            checkpoint: PathBuf::new(),
            flame_rig: PathBuf::new(),
            seed: 0,
            psi: 0.7,
            super_resolution: false,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum ViewChoice {
    Rgb,
    Depth,
    Opacity,
    Features,
    Mesh,
}

impl ViewChoice {
    pub const ALL: [ViewChoice; 5] = [
        ViewChoice::Rgb,
        ViewChoice::Depth,
        ViewChoice::Opacity,
        ViewChoice::Features,
        ViewChoice::Mesh,
    ];

    pub fn label(self) -> &'static str {
        match self {
            ViewChoice::Rgb => "RGB",
            ViewChoice::Depth => "depth",
            ViewChoice::Opacity => "opacity",
            ViewChoice::Features => "features",
            ViewChoice::Mesh => "mesh",
        }
    }
}

impl Default for Settings {
    fn default() -> Self {
        Self {
            resolution: 64,
            samples_scale: 1.0,
            marcher: Marcher::Fused,
            view: ViewChoice::Rgb,
            channels: [3, 4, 5],
            preview_while_dragging: true,
            sharpen_when_resting: true,
            mesh_overlay: false,
            camera: OrbitCamera::default(),
            presets: BTreeMap::new(),
            recent_files: Vec::new(),
            refinement: RefineSettings::default(),
            generator: GeneratorSettings::default(),
            window: WindowLayout::default(),
            adapter: "auto".into(),
        }
    }
}

impl Settings {
    /// `$XDG_CONFIG_HOME/neuralhead/settings.json`, else `~/.config/neuralhead/settings.json`.
    pub fn default_path() -> Option<PathBuf> {
        let base = std::env::var_os("XDG_CONFIG_HOME")
            .map(PathBuf::from)
            .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".config")))?;
        Some(base.join("neuralhead").join("settings.json"))
    }

    /// The saved settings; defaults when there are none. A file that cannot be read is moved
    /// aside (`settings.json.unreadable`, for the user to look at) and the notice says so:
    /// the viewer starts, and its next save does not destroy what was there.
    pub fn load(path: &Path) -> (Self, Option<String>) {
        let Ok(bytes) = std::fs::read(path) else {
            return (Self::default(), None);
        };
        match Self::from_json(&bytes) {
            Ok(settings) => (settings, None),
            Err(e) => {
                let aside = unreadable_path(path);
                let kept = match std::fs::rename(path, &aside) {
                    Ok(()) => format!("the old file is kept as {}", aside.display()),
                    Err(rename) => format!("it could not be moved aside ({rename})"),
                };
                let notice = format!(
                    "The settings file {} could not be read ({e}); the viewer started with \
                     default settings, and {kept}.",
                    path.display()
                );
                log::warn!("{notice}");
                (Self::default(), Some(notice))
            }
        }
    }

    /// Settings from a file's bytes, with values out of reason (hand-edited, from another
    /// version) brought back to ones the viewer can draw with.
    pub fn from_json(bytes: &[u8]) -> Result<Self, serde_json::Error> {
        serde_json::from_slice::<Self>(bytes).map(Self::sane)
    }

    /// Resolution, samples, feature channels and camera within what the panel offers.
    pub fn sane(self) -> Self {
        let default = Self::default();
        let finite = |x: f64| x.is_finite();
        let camera = self.camera;
        let camera_ok = [camera.yaw, camera.pitch, camera.roll]
            .into_iter()
            .all(finite)
            && (0.5..=20.0).contains(&camera.radius)
            && (1.0..=120.0).contains(&camera.fov_degrees);
        Self {
            resolution: self.resolution.clamp(MIN_RESOLUTION, MAX_RESOLUTION),
            samples_scale: match (0.25..=4.0).contains(&self.samples_scale) {
                true => self.samples_scale,
                false => default.samples_scale,
            },
            channels: self.channels.map(|c| c.min(FEATURES - 1)),
            camera: if camera_ok { camera } else { default.camera },
            generator: GeneratorSettings {
                psi: match (-1.0..=2.0).contains(&self.generator.psi) {
                    true => self.generator.psi,
                    false => default.generator.psi,
                },
                ..self.generator
            },
            window: self.window.sane(),
            ..self
        }
    }

    pub fn save(&self, path: &Path) -> anyhow::Result<()> {
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir)?;
        }
        let json = serde_json::to_vec_pretty(self)?;
        crate::io::write_atomically(path, &json)?;
        Ok(())
    }

    /// Puts `path` first in the recent files.
    pub fn remember(&mut self, path: &Path) {
        self.recent_files.retain(|p| p != path);
        self.recent_files.insert(0, path.to_path_buf());
        self.recent_files.truncate(RECENT);
    }
}

/// Where an unreadable settings file is moved: beside it, `.unreadable` appended.
fn unreadable_path(path: &Path) -> PathBuf {
    let mut name = path.file_name().unwrap_or_default().to_os_string();
    name.push(".unreadable");
    path.with_file_name(name)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn window_layouts_out_of_reason_fall_back_to_defaults() {
        let fine = WindowLayout {
            size: [1400.0, 900.0],
            panel_width: 420.0,
        };
        assert_eq!(fine.sane(), fine);
        let broken = WindowLayout {
            size: [f32::NAN, 90_000.0],
            panel_width: 5.0,
        };
        assert_eq!(broken.sane(), WindowLayout::default());
    }

    #[test]
    fn values_out_of_reason_in_a_settings_file_are_brought_back() {
        let json = br#"{"resolution": 100000000, "samples_scale": 1e300, "channels": [0, 7, 4000],
            "camera": {"yaw": 0.1, "pitch": 0, "roll": 0, "radius": -3, "fov_degrees": 18},
            "generator": {"psi": 1e9}}"#;
        let settings = Settings::from_json(json).unwrap();
        let default = Settings::default();
        assert_eq!(settings.resolution, MAX_RESOLUTION);
        assert_eq!(settings.samples_scale, default.samples_scale);
        assert_eq!(settings.channels, [0, 7, FEATURES - 1]);
        assert_eq!(settings.camera, default.camera);
        assert_eq!(settings.generator.psi, default.generator.psi);
        let fine = Settings {
            resolution: 128,
            samples_scale: 2.0,
            ..Default::default()
        };
        assert_eq!(fine.clone().sane(), fine);
    }

    #[test]
    fn settings_survive_a_round_trip_and_bad_files_give_defaults() {
        let dir = std::env::temp_dir().join(format!("neuralhead-settings-{}", std::process::id()));
        let path = dir.join("settings.json");
        let mut settings = Settings {
            resolution: 128,
            view: ViewChoice::Depth,
            window: WindowLayout {
                size: [1400.0, 900.0],
                panel_width: 420.0,
            },
            adapter: "cpu".into(),
            ..Default::default()
        };
        settings.generator.seed = 7;
        settings.presets.insert(
            "smile".into(),
            RigParams::default().with_expression("mouthSmileLeft", 0.8),
        );
        settings.remember(Path::new("a.safetensors"));
        settings.remember(Path::new("b.safetensors"));
        settings.remember(Path::new("a.safetensors"));
        assert_eq!(
            settings.recent_files,
            [
                PathBuf::from("a.safetensors"),
                PathBuf::from("b.safetensors")
            ]
        );
        settings.save(&path).unwrap();
        assert_eq!(Settings::load(&path), (settings, None));
        // A corrupt file: defaults, a notice naming both files, the bytes kept beside it.
        std::fs::write(&path, b"{ not json").unwrap();
        let (loaded, notice) = Settings::load(&path);
        assert_eq!(loaded, Settings::default());
        let aside = unreadable_path(&path);
        let notice = notice.expect("a notice");
        assert!(notice.contains(&aside.display().to_string()), "{notice}");
        assert_eq!(std::fs::read(&aside).unwrap(), b"{ not json");
        assert!(!path.exists(), "the next save starts afresh");
        std::fs::remove_dir_all(dir).ok();
    }
}
