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

impl Rgb {
    /// Hue (degrees), saturation and value.
    fn hsv(self) -> (f64, f64, f64) {
        let (r, g, b) = (f64::from(self.0) / 255.0, f64::from(self.1) / 255.0, f64::from(self.2) / 255.0);
        let (max, min) = (r.max(g).max(b), r.min(g).min(b));
        let d = max - min;
        let h = if d == 0.0 {
            0.0
        } else if max == r {
            60.0 * ((g - b) / d).rem_euclid(6.0)
        } else if max == g {
            60.0 * ((b - r) / d + 2.0)
        } else {
            60.0 * ((r - g) / d + 4.0)
        };
        (h, if max == 0.0 { 0.0 } else { d / max }, max)
    }
}

/// Least hue difference, in degrees, between two colours [`distinct`] gives one graph.
const MIN_HUE_GAP: f64 = 24.0;

/// The colours of one graph's series, told apart: each series keeps its own colour when it
/// has one, else its name's ([`for_name`]) unless that hue is within 24° of a colour
/// already taken, in which case the hue moves by the golden angle until it is clear (or,
/// with too many series for that, the farthest hue found). Stable: the same names in the
/// same order give the same colours.
pub fn distinct(series: &[(&str, Option<Rgb>)]) -> Vec<Rgb> {
    let mut taken: Vec<f64> = series.iter().filter_map(|(_, c)| c.map(|c| c.hsv().0)).collect();
    let gap = |h: f64, taken: &[f64]| {
        taken.iter().map(|t| (h - t).rem_euclid(360.0).min((t - h).rem_euclid(360.0))).fold(360.0, f64::min)
    };
    series
        .iter()
        .map(|(name, own)| {
            if let Some(c) = own {
                return *c;
            }
            let base = for_name(name);
            let (h0, s, v) = base.hsv();
            let mut best = (gap(h0, &taken), h0);
            for k in 1..16 {
                if best.0 >= MIN_HUE_GAP {
                    break;
                }
                let h = (h0 + 137.508 * f64::from(k)).rem_euclid(360.0);
                let g = gap(h, &taken);
                if g > best.0 {
                    best = (g, h);
                }
            }
            taken.push(best.1);
            if best.1 == h0 { base } else { hsv(best.1, s, v) }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn colours_within_a_graph_are_distinct() {
        let names = ["idle", "interrupt", "nice", "softirq", "steal", "system", "user", "wait"];
        let wanted: Vec<(&str, Option<Rgb>)> = names.iter().map(|n| (*n, None)).collect();
        let colors = distinct(&wanted);
        for (i, a) in colors.iter().enumerate() {
            for (j, b) in colors.iter().enumerate().skip(i + 1) {
                let (ha, hb) = (a.hsv().0, b.hsv().0);
                let d = (ha - hb).rem_euclid(360.0).min((hb - ha).rem_euclid(360.0));
                assert!(d >= MIN_HUE_GAP - 1.0, "{} and {} too close: {a:?} {b:?}", names[i], names[j]);
            }
        }
        // Stable, and a lone series keeps its name's colour.
        assert_eq!(distinct(&wanted), colors);
        assert_eq!(distinct(&[("heads", None)]), [for_name("heads")]);
        assert_eq!(distinct(&[("x", Some(Rgb(1, 2, 3)))]), [Rgb(1, 2, 3)]);
    }

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
