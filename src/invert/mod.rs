//! One-shot inversion from a portrait: find the face and its landmarks, align the portrait
//! FFHQ-style, (then fit the rig and camera, and optimise the avatar's render to match).

pub mod align;
pub mod detector_neutral;
pub mod face;
pub mod fit;
pub mod fit_embedded;
pub mod frozen_rays;
pub mod identity;
pub mod least_squares;
pub mod losses;
pub mod optimise;
pub mod other_views;
pub mod pti;
pub mod run;
pub mod target;
pub mod unwrap;
pub mod uv_fill;
