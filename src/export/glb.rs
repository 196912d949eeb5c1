//! glTF's binary container and the accessors it needs: buffer views appended to one
//! binary chunk, 4-byte aligned as the format requires.

use serde_json::{Value, json};

pub const FLOAT: u32 = 5126;
pub const UNSIGNED_BYTE: u32 = 5121;
pub const UNSIGNED_INT: u32 = 5125;
pub const ARRAY_BUFFER: u32 = 34962;
pub const ELEMENT_ARRAY_BUFFER: u32 = 34963;

/// Appends to the binary buffer and describes what was appended.
#[derive(Default)]
pub struct Builder {
    pub bin: Vec<u8>,
    pub views: Vec<Value>,
    pub accessors: Vec<Value>,
}

impl Builder {
    pub fn view(&mut self, bytes: &[u8], target: Option<u32>) -> usize {
        while !self.bin.len().is_multiple_of(4) {
            self.bin.push(0);
        }
        let mut view =
            json!({ "buffer": 0, "byteOffset": self.bin.len(), "byteLength": bytes.len() });
        if let Some(t) = target {
            view["target"] = json!(t);
        }
        self.bin.extend_from_slice(bytes);
        self.views.push(view);
        self.views.len() - 1
    }

    pub fn accessor(
        &mut self,
        view: usize,
        component: u32,
        count: usize,
        kind: &str,
        extra: Value,
    ) -> usize {
        let mut accessor =
            json!({ "bufferView": view, "componentType": component, "count": count, "type": kind });
        if let (Value::Object(a), Value::Object(e)) = (&mut accessor, extra) {
            a.extend(e);
        }
        self.accessors.push(accessor);
        self.accessors.len() - 1
    }

    /// A VEC3 float accessor with the min and max glTF asks of positions.
    pub fn vec3(&mut self, values: &[[f32; 3]], target: Option<u32>) -> usize {
        let view = self.view(bytemuck::cast_slice(values), target);
        self.accessor(view, FLOAT, values.len(), "VEC3", bounds(values))
    }

    /// A VEC3 float accessor stored sparsely: zeros but for the listed non-zero values (a
    /// morph target moves a few hundred of the head's vertices). Dense where none is non-zero,
    /// as a sparse accessor needs at least one value.
    pub fn sparse_vec3(&mut self, values: &[[f32; 3]]) -> usize {
        let moved: Vec<u32> = (0..values.len() as u32)
            .filter(|&i| values[i as usize] != [0.0; 3])
            .collect();
        if moved.is_empty() {
            return self.vec3(values, Some(ARRAY_BUFFER));
        }
        let nonzero: Vec<[f32; 3]> = moved.iter().map(|&i| values[i as usize]).collect();
        let indices = self.view(bytemuck::cast_slice(&moved), None);
        let data = self.view(bytemuck::cast_slice(&nonzero), None);
        let mut accessor = json!({
            "componentType": FLOAT,
            "count": values.len(),
            "type": "VEC3",
            "sparse": {
                "count": moved.len(),
                "indices": { "bufferView": indices, "componentType": UNSIGNED_INT },
                "values": { "bufferView": data },
            },
        });
        if let (Value::Object(a), Value::Object(b)) = (&mut accessor, bounds(values)) {
            a.extend(b);
        }
        self.accessors.push(accessor);
        self.accessors.len() - 1
    }
}

/// The per-component min and max glTF asks of position accessors.
fn bounds(values: &[[f32; 3]]) -> Value {
    let mut min = [f32::INFINITY; 3];
    let mut max = [f32::NEG_INFINITY; 3];
    for v in values {
        for a in 0..3 {
            min[a] = min[a].min(v[a]);
            max[a] = max[a].max(v[a]);
        }
    }
    json!({ "min": min, "max": max })
}

/// The GLB container: a 12-byte header, the JSON chunk (space-padded), the binary chunk.
pub fn container(json: &[u8], mut bin: Vec<u8>) -> Vec<u8> {
    let mut json = json.to_vec();
    while !json.len().is_multiple_of(4) {
        json.push(b' ');
    }
    while !bin.len().is_multiple_of(4) {
        bin.push(0);
    }
    let total = 12 + 8 + json.len() + 8 + bin.len();
    let mut out = Vec::with_capacity(total);
    out.extend(b"glTF");
    out.extend(2u32.to_le_bytes());
    out.extend((total as u32).to_le_bytes());
    out.extend((json.len() as u32).to_le_bytes());
    out.extend(b"JSON");
    out.extend(json);
    out.extend((bin.len() as u32).to_le_bytes());
    out.extend(b"BIN\0");
    out.extend(bin);
    out
}
