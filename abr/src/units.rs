//! Units as newtypes so bits never meet bytes and milliseconds never meet seconds.
//!
//! All hold an `f64`: the simulator divides sizes by rates and rates are fractional, and
//! `f64` arithmetic is what lets the Sabre compatibility mode match the reference to the last
//! bit. The one rate unit is kilobits per second, which is exactly bits per millisecond, so
//! `Bits / Ms = Kbps` and `Kbps * Ms = Bits` need no scale factors.

use serde::{Deserialize, Serialize};
use std::ops::{Add, AddAssign, Div, Mul, Sub, SubAssign};

macro_rules! unit {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(Clone, Copy, Debug, Default, PartialEq, PartialOrd, Serialize, Deserialize)]
        #[serde(transparent)]
        pub struct $name(pub f64);

        impl $name {
            pub const ZERO: Self = Self(0.0);
            pub fn max(self, other: Self) -> Self {
                Self(self.0.max(other.0))
            }
            pub fn min(self, other: Self) -> Self {
                Self(self.0.min(other.0))
            }
        }
        impl Add for $name {
            type Output = Self;
            fn add(self, o: Self) -> Self {
                Self(self.0 + o.0)
            }
        }
        impl Sub for $name {
            type Output = Self;
            fn sub(self, o: Self) -> Self {
                Self(self.0 - o.0)
            }
        }
        impl AddAssign for $name {
            fn add_assign(&mut self, o: Self) {
                self.0 += o.0;
            }
        }
        impl SubAssign for $name {
            fn sub_assign(&mut self, o: Self) {
                self.0 -= o.0;
            }
        }
        impl Mul<f64> for $name {
            type Output = Self;
            fn mul(self, k: f64) -> Self {
                Self(self.0 * k)
            }
        }
        impl Div<f64> for $name {
            type Output = Self;
            fn div(self, k: f64) -> Self {
                Self(self.0 / k)
            }
        }
        /// The ratio of two quantities of the same unit is a plain number.
        impl Div for $name {
            type Output = f64;
            fn div(self, o: Self) -> f64 {
                self.0 / o.0
            }
        }
    };
}

unit!(
    /// A duration or an instant on the simulated clock, in milliseconds.
    Ms
);
unit!(
    /// An amount of data in bits.
    Bits
);
unit!(
    /// A rate in kilobits per second, which is the same as bits per millisecond.
    Kbps
);

impl Ms {
    pub fn from_secs(s: f64) -> Self {
        Self(s * 1000.0)
    }
    pub fn secs(self) -> f64 {
        self.0 / 1000.0
    }
}

impl Bits {
    pub fn from_bytes(bytes: u64) -> Self {
        Self(bytes as f64 * 8.0)
    }
}

impl Kbps {
    pub fn from_mbps(mbps: f64) -> Self {
        Self(mbps * 1000.0)
    }
    pub fn mbps(self) -> f64 {
        self.0 / 1000.0
    }
}

impl Mul<Ms> for Kbps {
    type Output = Bits;
    fn mul(self, t: Ms) -> Bits {
        Bits(self.0 * t.0)
    }
}

impl Div<Kbps> for Bits {
    type Output = Ms;
    fn div(self, r: Kbps) -> Ms {
        Ms(self.0 / r.0)
    }
}

impl Div<Ms> for Bits {
    type Output = Kbps;
    fn div(self, t: Ms) -> Kbps {
        Kbps(self.0 / t.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rates_sizes_and_times_compose() {
        let r = Kbps(1000.0);
        assert_eq!(r * Ms(2000.0), Bits(2_000_000.0));
        assert_eq!(Bits(2_000_000.0) / r, Ms(2000.0));
        assert_eq!(Bits::from_bytes(1500) / Ms(1.0), Kbps(12000.0));
        assert_eq!(Ms::from_secs(1.5).secs(), 1.5);
        assert_eq!(Kbps::from_mbps(1.5), Kbps(1500.0));
    }
}
