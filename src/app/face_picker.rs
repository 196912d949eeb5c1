//! Choosing the face before an inversion. The faces are found on a background thread (the two
//! detectors take a moment on a large photo); a portrait with one face is inverted at once;
//! with several, or none, a window shows the portrait with the faces found, numbered largest
//! first, and the person clicks one or drags a box around a face the detectors missed.

use std::path::PathBuf;
use std::sync::mpsc::{Receiver, TryRecvError, channel};

use crate::invert::face::{Detection, FaceChoice, FaceModels, portrait};

/// The portrait's longest side in the window, in points.
const SHOWN_SIDE: f32 = 480.0;

/// Where a face choice stands.
pub enum FacePick {
    /// The detectors run on the portrait.
    Finding {
        portrait: PathBuf,
        found: Receiver<Result<Found, String>>,
    },
    /// The window is open.
    Choosing(Choosing),
}

pub struct Found {
    image: image::RgbImage,
    faces: Vec<Detection>,
}

pub struct Choosing {
    portrait: PathBuf,
    size: [f32; 2],
    texture: egui::TextureHandle,
    faces: Vec<Detection>,
    choice: Option<FaceChoice>,
    /// Where a drag that draws a box began, in image pixels.
    drag_from: Option<egui::Pos2>,
}

/// What the window asks for this frame.
enum Decision {
    Invert(FaceChoice),
    Cancel,
}

impl FacePick {
    /// Starts finding the faces of `portrait`.
    pub fn find(portrait: PathBuf, ctx: &egui::Context) -> Self {
        let (sender, found) = channel();
        let (path, ctx) = (portrait.clone(), ctx.clone());
        std::thread::spawn(move || {
            let result = (|| -> anyhow::Result<Found> {
                let (image, _) = portrait::load(&path)?;
                let faces = FaceModels::shared()?.detect(&image)?;
                Ok(Found { image, faces })
            })();
            let _ = sender.send(result.map_err(|e| format!("{e:#}")));
            ctx.request_repaint();
        });
        Self::Finding { portrait, found }
    }
}

impl super::viewer::ViewerApp {
    /// Finds the portrait's faces, then inverts the only one or lets the person choose.
    pub fn invert_portrait(&mut self, portrait: PathBuf, ctx: &egui::Context) {
        if self.inverting() || self.inversion.pick.is_some() {
            self.message = Some((true, "an inversion is already running".into()));
            return;
        }
        self.message = Some((
            false,
            format!("finding the faces in {}", portrait.display()),
        ));
        self.inversion.pick = Some(FacePick::find(portrait, ctx));
    }

    /// Whether the detectors are still looking at the portrait.
    pub fn finding_faces(&self) -> bool {
        matches!(self.inversion.pick, Some(FacePick::Finding { .. }))
    }

    /// The number of faces offered while the face window is open.
    pub fn faces_offered(&self) -> Option<usize> {
        match &self.inversion.pick {
            Some(FacePick::Choosing(choosing)) => Some(choosing.faces.len()),
            _ => None,
        }
    }

    /// Takes the detectors' answer when it has come.
    pub(super) fn receive_faces(&mut self, ctx: &egui::Context) {
        let Some(FacePick::Finding { portrait, found }) = &self.inversion.pick else {
            return;
        };
        let result = match found.try_recv() {
            Ok(result) => result,
            Err(TryRecvError::Empty) => return,
            Err(TryRecvError::Disconnected) => Err("the face search stopped".into()),
        };
        let portrait = portrait.clone();
        self.inversion.pick = None;
        match result {
            Ok(found) if found.faces.len() == 1 => {
                self.start_inversion(portrait, FaceChoice::Largest)
            }
            Ok(found) => {
                self.message = Some((
                    false,
                    match found.faces.len() {
                        0 => "no face found: drag a box around the face".to_string(),
                        n => format!("{n} faces found: choose one"),
                    },
                ));
                self.inversion.pick = Some(FacePick::Choosing(Choosing::new(portrait, found, ctx)));
            }
            Err(e) => self.message = Some((true, format!("cannot invert: {e}"))),
        }
    }

    /// The face window, while it is open.
    pub(super) fn face_window(&mut self, ctx: &egui::Context) {
        let Some(FacePick::Choosing(choosing)) = &mut self.inversion.pick else {
            return;
        };
        let mut decision = None;
        egui::Window::new("Choose the face")
            .collapsible(false)
            .resizable(false)
            .show(ctx, |ui| decision = choosing.show(ui));
        match decision {
            Some(Decision::Invert(choice)) => {
                let portrait = choosing.portrait.clone();
                self.inversion.pick = None;
                self.start_inversion(portrait, choice);
            }
            Some(Decision::Cancel) => {
                self.inversion.pick = None;
                self.message = Some((false, "no face chosen; nothing was inverted".into()));
            }
            None => {}
        }
    }
}

impl Choosing {
    fn new(portrait: PathBuf, found: Found, ctx: &egui::Context) -> Self {
        let (w, h) = found.image.dimensions();
        let pixels = egui::ColorImage::from_rgb([w as usize, h as usize], found.image.as_raw());
        Self {
            portrait,
            size: [w as f32, h as f32],
            texture: ctx.load_texture("portrait", pixels, egui::TextureOptions::LINEAR),
            faces: found.faces,
            choice: None,
            drag_from: None,
        }
    }

    fn show(&mut self, ui: &mut egui::Ui) -> Option<Decision> {
        ui.label(match self.faces.len() {
            0 => "No face found. Drag a box around the face, from the forehead to the chin."
                .to_string(),
            n => format!(
                "{n} faces found, numbered largest first: click one, or drag a box around \
                 another."
            ),
        });
        self.portrait(ui);
        ui.horizontal_wrapped(|ui| {
            for i in 0..self.faces.len() {
                let chosen = self.choice == Some(FaceChoice::Index(i));
                if ui
                    .selectable_label(chosen, format!("face {}", i + 1))
                    .clicked()
                {
                    self.choice = Some(FaceChoice::Index(i));
                }
            }
            if matches!(self.choice, Some(FaceChoice::Drawn(_))) {
                ui.label("the drawn box");
            }
        });
        let mut decision = None;
        ui.horizontal(|ui| {
            let invert =
                ui.add_enabled(self.choice.is_some(), egui::Button::new("Invert this face"));
            if invert.clicked() {
                decision = self.choice.map(Decision::Invert);
            }
            if ui.button("Cancel").clicked() {
                decision = Some(Decision::Cancel);
            }
        });
        decision
    }

    /// The portrait with the faces' boxes; a click picks a face, a drag draws a box.
    fn portrait(&mut self, ui: &mut egui::Ui) {
        let scale = SHOWN_SIDE / self.size[0].max(self.size[1]);
        let shown = egui::vec2(self.size[0], self.size[1]) * scale;
        let (response, painter) = ui.allocate_painter(shown, egui::Sense::click_and_drag());
        response.widget_info(|| egui::WidgetInfo::labeled(egui::Role::Image, true, "the portrait"));
        let rect = response.rect;
        let to_screen = |[x, y]: [f32; 2]| rect.min + egui::vec2(x, y) * scale;
        let to_image = |p: egui::Pos2| (p - rect.min) / scale;
        let box_rect = |b: [f32; 4]| {
            egui::Rect::from_two_pos(to_screen([b[0], b[1]]), to_screen([b[2], b[3]]))
        };
        painter.image(
            self.texture.id(),
            rect,
            egui::Rect::from_min_max(egui::pos2(0.0, 0.0), egui::pos2(1.0, 1.0)),
            egui::Color32::WHITE,
        );
        for (i, face) in self.faces.iter().enumerate() {
            let chosen = self.choice == Some(FaceChoice::Index(i));
            let colour = if chosen {
                egui::Color32::from_rgb(90, 220, 255)
            } else {
                egui::Color32::from_rgb(255, 200, 60)
            };
            let outline = box_rect(face.bounds);
            let width = if chosen { 3.0 } else { 1.5 };
            painter.rect_stroke(outline, 0.0, (width, colour), egui::StrokeKind::Outside);
            painter.text(
                outline.left_top(),
                egui::Align2::LEFT_BOTTOM,
                (i + 1).to_string(),
                egui::FontId::proportional(16.0),
                colour,
            );
        }
        if let Some(FaceChoice::Drawn(b)) = self.choice {
            let stroke = (2.5, egui::Color32::from_rgb(120, 255, 120));
            painter.rect_stroke(box_rect(b), 0.0, stroke, egui::StrokeKind::Outside);
        }

        let pointer = response
            .interact_pointer_pos()
            .map(|p| to_image(p.clamp(rect.min, rect.max)));
        if response.drag_started() {
            self.drag_from = pointer.map(|v| v.to_pos2());
        }
        if let (Some(from), Some(to)) = (self.drag_from, pointer)
            && (response.dragged() || response.drag_stopped())
        {
            let drawn = [from.x, from.y, to.x, to.y];
            self.choice = Some(FaceChoice::Drawn(drawn));
        }
        if response.drag_stopped() {
            self.drag_from = None;
        }
        if response.clicked()
            && let Some(at) = pointer
        {
            let at = [at.x, at.y];
            // The smallest box under the click (a face inside another's box wins).
            self.choice = (0..self.faces.len())
                .filter(|&i| self.faces[i].contains(at))
                .min_by(|&a, &b| self.faces[a].area().total_cmp(&self.faces[b].area()))
                .map(FaceChoice::Index)
                .or(self.choice);
        }
    }
}
