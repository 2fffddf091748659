//! Stable colours: a name always gets the same colour, on every request and every machine.

/// An sRGB colour.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Rgb(pub u8, pub u8, pub u8);

impl Rgb {
    /// `rrggbb`, as rrdtool takes it after `#`.
    pub fn hex(self) -> String {
        format!("{:02x}{:02x}{:02x}", self.0, self.1, self.2)
    }

    /// `rrggbbaa` with the given alpha.
    pub fn hex_alpha(self, alpha: u8) -> String {
        format!("{}{:02x}", self.hex(), alpha)
    }

    /// This colour mixed with white: `amount` 0.0 keeps it, 1.0 gives white.
    pub fn lighten(self, amount: f64) -> Rgb {
        let mix = |c: u8| (f64::from(c) + (255.0 - f64::from(c)) * amount).round() as u8;
        Rgb(mix(self.0), mix(self.1), mix(self.2))
    }
}

/// FNV-1a, 64 bits: small, stable across Rust versions and platforms (unlike `std`'s
/// hasher, which may change).
fn fnv1a(s: &str) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in s.bytes() {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    h
}

fn hsv(h: f64, s: f64, v: f64) -> Rgb {
    let c = v * s;
    let hp = (h / 60.0) % 6.0;
    let x = c * (1.0 - ((hp % 2.0) - 1.0).abs());
    let (r, g, b) = match hp as u32 {
        0 => (c, x, 0.0),
        1 => (x, c, 0.0),
        2 => (0.0, c, x),
        3 => (0.0, x, c),
        4 => (x, 0.0, c),
        _ => (c, 0.0, x),
    };
    let m = v - c;
    let to = |f: f64| ((f + m) * 255.0).round().clamp(0.0, 255.0) as u8;
    Rgb(to(r), to(g), to(b))
}

/// The colour of a series name: a hue from a hash of the name, with saturation and value
/// in a range that reads well on white.
pub fn for_name(name: &str) -> Rgb {
    let h = fnv1a(name);
    let hue = (h % 360) as f64;
    let sat = 0.60 + ((h >> 16) % 30) as f64 / 100.0;
    let val = 0.70 + ((h >> 32) % 20) as f64 / 100.0;
    hsv(hue, sat, val)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stable_and_distinct() {
        assert_eq!(for_name("heads"), for_name("heads"));
        assert_ne!(for_name("heads"), for_name("tails"));
        // Pinned: a change here changes every user's graphs.
        assert_eq!(fnv1a(""), 0xcbf2_9ce4_8422_2325);
        assert_eq!(fnv1a("a"), 0xaf63_dc4c_8601_ec8c);
        assert_eq!(Rgb(255, 0, 0).hex(), "ff0000");
        assert_eq!(Rgb(0, 0, 0).lighten(0.5), Rgb(128, 128, 128));
        assert_eq!(hsv(0.0, 1.0, 1.0), Rgb(255, 0, 0));
        assert_eq!(hsv(120.0, 1.0, 1.0), Rgb(0, 255, 0));
    }
}
