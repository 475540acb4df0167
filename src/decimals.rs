//! How many decimals a served number carries. Statistics derived from the published figures
//! (the index, its interval, standard error and parts, changes, comparisons, effects) are
//! served to three decimals, as the map's layers are. Their last digits were float noise
//! (`-0.9299999999999997`), or a precision that the rounded figures behind them do not have.
//! A statistic below 0.1 keeps three significant digits instead. So no bound of an interval
//! is served as 0 or with another sign than it has: a change called more pressure because
//! its interval lies above 0 is served with a lower bound above 0.
//! Published rates are served as stored; the method's weights are served exactly. Positions
//! in degrees get five decimals, about a metre.

use serde::Serializer;

/// Decimals of a derived statistic.
pub const STATISTIC: i32 = 3;
/// Decimals of a longitude or latitude.
pub const DEGREES: i32 = 5;

/// `x` rounded to `decimals` (half away from zero); not-finite numbers as they are.
#[must_use]
pub fn round(x: f64, decimals: i32) -> f64 {
    let f = 10f64.powi(decimals);
    if x.is_finite() {
        (x * f).round() / f
    } else {
        x
    }
}

/// A statistic rounded to [`STATISTIC`] decimals, or to three significant digits when it is
/// smaller than 0.1 (never to 0, never to another sign).
#[must_use]
pub fn stat(x: f64) -> f64 {
    if x == 0.0 || !x.is_finite() {
        return x;
    }
    #[expect(clippy::cast_possible_truncation, reason = "a decimal exponent")]
    let magnitude = x.abs().log10().floor() as i32;
    let decimals = STATISTIC.max(2 - magnitude);
    // Beyond this a number is as good as 0 and would overflow the scaling; kept as it is.
    if decimals > 15 {
        return x;
    }
    round(x, decimals)
}

/// Serializes a statistic to [`STATISTIC`] decimals (`#[serde(serialize_with = …)]`).
///
/// # Errors
/// The serializer's.
pub fn ser<S: Serializer>(x: &f64, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_f64(stat(*x))
}

/// [`ser`] for a statistic that may be absent.
///
/// # Errors
/// The serializer's.
pub fn ser_opt<S: Serializer>(x: &Option<f64>, s: S) -> Result<S::Ok, S::Error> {
    match x {
        Some(x) => s.serialize_some(&stat(*x)),
        None => s.serialize_none(),
    }
}

/// [`ser`] for a series of statistics that may be absent.
///
/// # Errors
/// The serializer's.
pub fn ser_series<S: Serializer>(xs: &[Option<f64>], s: S) -> Result<S::Ok, S::Error> {
    s.collect_seq(xs.iter().map(|x| x.map(stat)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statistics_lose_float_noise_and_keep_three_decimals() {
        assert_eq!(stat(-0.929_999_999_999_999_7), -0.93);
        assert_eq!(stat(1.900_000_000_000_000_4), 1.9);
        assert_eq!(stat(0.114_568_585_185_071_6), 0.115);
        assert_eq!(stat(-2.000_51), -2.001);
        assert_eq!(stat(13.441_51), 13.442);
        assert_eq!(round(51.277_551_234, DEGREES), 51.277_55);
        // Small statistics keep three significant digits: an interval's bound never becomes
        // 0 or changes sign.
        assert_eq!(stat(0.012_345), 0.0123);
        assert_eq!(stat(0.000_312_9), 0.000_313);
        assert_eq!(stat(-0.000_400_01), -0.0004);
        assert_eq!(stat(0.0), 0.0);
        assert_eq!(stat(1e-300), 1e-300);
        assert!(stat(f64::NAN).is_nan());
        #[derive(serde::Serialize)]
        struct S {
            #[serde(serialize_with = "ser")]
            a: f64,
            #[serde(serialize_with = "ser_opt")]
            b: Option<f64>,
            #[serde(serialize_with = "ser_opt")]
            c: Option<f64>,
            #[serde(serialize_with = "ser_series")]
            d: Vec<Option<f64>>,
        }
        let v = serde_json::to_string(&S {
            a: 3.749_123,
            b: Some(0.1 + 0.2),
            c: None,
            d: vec![Some(2.0 / 3.0), None],
        })
        .unwrap();
        assert_eq!(v, r#"{"a":3.749,"b":0.3,"c":null,"d":[0.667,null]}"#);
    }

    proptest::proptest! {
        /// A served statistic keeps its sign, is 0 only when it was, and is off by at most
        /// half its last decimal.
        #[test]
        fn a_served_statistic_keeps_its_sign_and_its_precision(x in -1e6f64..1e6) {
            let r = stat(x);
            proptest::prop_assert_eq!(r.signum(), x.signum());
            proptest::prop_assert_eq!(r == 0.0, x == 0.0);
            let step = if x.abs() >= 0.1 { 1e-3 } else { 10f64.powf(x.abs().log10().floor() - 2.0) };
            proptest::prop_assert!((r - x).abs() <= step / 2.0 * (1.0 + 1e-9), "{x} → {r}");
        }
    }
}
