//! The embedded default avatar: the public-domain astronaut portrait (assets/astronaut.png)
//! inverted onto the default rig by `neuralhead invert` (the exact command is in the README).

use super::Avatar;
use super::file::{AvatarError, from_bytes};

/// Where the file lives in the repository.
pub const PATH: &str = "weights/default_avatar.safetensors";

static BYTES: &[u8] = include_bytes!("../../weights/default_avatar.safetensors");

pub fn embedded() -> Result<Avatar, AvatarError> {
    from_bytes(BYTES, "the embedded default avatar")
}
