//! Avatars from a Next3D generator checkpoint: the checkpoint and FLAME rig files, a seed and
//! the truncation ψ, and Bake (on the render thread). Also finds the rig an opened avatar
//! lives on: the embedded default rig, or the FLAME file named here (its hash must match).

use std::path::Path;
use std::sync::Arc;

use super::bake_job::{BakeJob, BakeUpdate};
use super::panel::file_field;
use super::settings::GeneratorSettings;
use super::viewer::{AvatarSource, ViewerApp};
use crate::avatar::{Avatar, RigRef};
use crate::rig::{Rig, RigKind, default_rig};

/// Where the panel's generator state stands.
#[derive(Default)]
pub struct GeneratorState {
    pub checkpoint_text: String,
    pub flame_text: String,
    /// The seed being baked, while a bake runs.
    baking: Option<u32>,
}

impl GeneratorState {
    /// The panel's files as the settings remember them.
    pub fn new(settings: &GeneratorSettings) -> Self {
        Self {
            checkpoint_text: settings.checkpoint.display().to_string(),
            flame_text: settings.flame_rig.display().to_string(),
            baking: None,
        }
    }
}

impl ViewerApp {
    pub fn baking(&self) -> bool {
        self.generator.baking.is_some()
    }

    /// The generator controls' file fields (what the panel shows).
    pub fn generator_files(&mut self) -> (&mut String, &mut String) {
        let g = &mut self.generator;
        (&mut g.checkpoint_text, &mut g.flame_text)
    }

    /// Bakes the avatar of the panel's seed and ψ from its checkpoint.
    pub fn start_bake(&mut self) {
        if self.baking() || self.inverting() || self.recording() {
            self.message = Some((true, "wait for the running job to end".into()));
            return;
        }
        let checkpoint = self.generator.checkpoint_text.trim().to_string();
        let (rig, rig_path) = match self.flame_rig() {
            Ok(Some((rig, path))) => (rig, path),
            Ok(None) => {
                self.message = Some((
                    true,
                    "no FLAME rig file given: baking on the default rig, where Next3D's \
                     textures (made in FLAME's UV space) land in the wrong places"
                        .into(),
                ));
                (default_rig::embedded(), "default".to_string())
            }
            Err(e) => {
                self.message = Some((true, format!("{e:#}")));
                return;
            }
        };
        let (seed, psi) = (self.settings.generator.seed, self.settings.generator.psi);
        self.worker.bake(BakeJob {
            checkpoint: checkpoint.clone().into(),
            rig,
            rig_path,
            seed,
            psi,
        });
        self.settings.generator.checkpoint = checkpoint.into();
        self.generator.baking = Some(seed);
    }

    /// The FLAME rig file of the panel, loaded; `None` when the field is empty.
    pub(super) fn flame_rig(&self) -> anyhow::Result<Option<(Arc<Rig>, String)>> {
        let text = self.generator.flame_text.trim();
        if text.is_empty() {
            return Ok(None);
        }
        if self.rig.kind == RigKind::Flame2020 && self.rig_file.as_deref() == Some(text) {
            return Ok(Some((self.rig.clone(), text.to_string())));
        }
        let rig = crate::rig::file::load(Path::new(text))
            .map_err(|e| anyhow::anyhow!("the FLAME rig file {text}: {e}"))?;
        anyhow::ensure!(
            rig.kind == RigKind::Flame2020,
            "{text} is not a FLAME rig (convert yours with tools/convert_flame.py)"
        );
        Ok(Some((Arc::new(rig), text.to_string())))
    }

    /// The rig `avatar` lives on: the default rig, or the panel's FLAME file if its hash is
    /// the one the avatar names.
    pub(super) fn rig_for(&self, avatar: &Avatar) -> anyhow::Result<(Arc<Rig>, Option<String>)> {
        match &avatar.rig {
            RigRef::Default { version } if *version == default_rig::VERSION => {
                Ok((default_rig::embedded(), None))
            }
            RigRef::Default { .. } => Err(crate::avatar::file::AvatarError::RetiredRig.into()),
            RigRef::Flame { sha256 } => {
                let (rig, path) = self.flame_rig()?.ok_or_else(|| {
                    anyhow::anyhow!(
                        "this avatar lives on FLAME 2020: convert your FLAME files with \
                         tools/convert_flame.py and give the rig file under Avatar → Next3D \
                         generator → FLAME rig"
                    )
                })?;
                let found = crate::cli::neural::file_sha256(Path::new(&path))?;
                anyhow::ensure!(
                    &found == sha256,
                    "{path} is another FLAME rig than this avatar's (sha256 {found}, the avatar \
                     names {sha256})"
                );
                Ok((rig, Some(path)))
            }
        }
    }

    pub(super) fn generator_controls(&mut self, ui: &mut egui::Ui) {
        ui.collapsing("Next3D generator", |ui| {
            ui.horizontal(|ui| {
                file_field(
                    ui,
                    "checkpoint:",
                    &mut self.generator.checkpoint_text,
                    "Next3D checkpoint",
                    &["safetensors"],
                );
            })
            .response
            .on_hover_text("a Next3D checkpoint converted with tools/convert_next3d.py");
            ui.horizontal(|ui| {
                file_field(
                    ui,
                    "FLAME rig:",
                    &mut self.generator.flame_text,
                    "FLAME rig",
                    &["safetensors"],
                );
            })
            .response
            .on_hover_text("your FLAME 2020 files converted with tools/convert_flame.py");
            // Remembered across restarts.
            let g = &mut self.settings.generator;
            g.checkpoint = self.generator.checkpoint_text.trim().into();
            g.flame_rig = self.generator.flame_text.trim().into();
            let g = &mut self.settings.generator;
            ui.horizontal(|ui| {
                let label = ui.label("seed:");
                ui.add(egui::DragValue::new(&mut g.seed))
                    .labelled_by(label.id);
                let label = ui.label("truncation ψ:");
                ui.add(
                    egui::DragValue::new(&mut g.psi)
                        .range(0.0..=1.0)
                        .speed(0.01),
                )
                .labelled_by(label.id);
            });
            if let Some(seed) = self.generator.baking {
                ui.horizontal(|ui| {
                    ui.spinner();
                    ui.label(format!("baking seed {seed}…"));
                });
                return;
            }
            let checkpoint = self.generator.checkpoint_text.trim();
            let exists = !checkpoint.is_empty() && Path::new(checkpoint).is_file();
            if ui
                .add_enabled(exists, egui::Button::new("Bake"))
                .on_hover_text(
                    "the identity of this seed and ψ: mapping, texture and static planes",
                )
                .on_disabled_hover_text("give a converted checkpoint file first")
                .clicked()
            {
                self.start_bake();
            }
        });
    }

    pub(super) fn receive_bakes(&mut self) {
        for update in self.worker.bakes() {
            self.generator.baking = None;
            match update {
                BakeUpdate::Done { rig, label } => {
                    if !Arc::ptr_eq(&rig, &self.rig) {
                        self.params = Default::default();
                        self.playback = None;
                        self.rig = rig;
                    }
                    self.rig_file = (self.rig.kind == RigKind::Flame2020)
                        .then(|| self.generator.flame_text.trim().to_string());
                    self.has_generator = true;
                    self.source = AvatarSource {
                        label: label.clone(),
                        notice: None,
                    };
                    self.shown = None;
                    self.forget_sent();
                    self.message = Some((false, format!("baked {label}")));
                }
                BakeUpdate::Failed(e) => {
                    self.message = Some((true, format!("baking failed: {e}")));
                }
            }
        }
    }
}
