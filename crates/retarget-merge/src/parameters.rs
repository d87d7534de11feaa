//! Parameter settings as mergekit writes them, and their evaluation for one
//! tensor: a scalar, a gradient (a list interpolated across the layers of a
//! slice), or a list of `filter:` conditions whose first match (a substring of
//! the tensor name, `*` or no filter) gives the value.

use serde_yaml_ng::Value;

/// A scalar as YAML gives it; it is checked against the parameter's type when
/// it is used, as mergekit (pydantic) does.
#[derive(Debug, Clone, PartialEq)]
pub enum Scalar {
    /// `true` / `false`.
    Bool(bool),
    /// Any number.
    Number(f64),
    /// Text (e.g. `1e-3`, which YAML 1.1 readers such as PyYAML leave as text).
    Text(String),
}

/// A scalar or a gradient.
#[derive(Debug, Clone, PartialEq)]
pub enum ScalarOrGradient {
    /// One value for every tensor.
    Scalar(Scalar),
    /// Values interpolated across the layers of a slice.
    Gradient(Vec<Scalar>),
}

/// One `- filter: … value: …` entry.
#[derive(Debug, Clone, PartialEq)]
pub struct Conditional {
    /// Substring of the tensor name; `None` or `*` matches every tensor.
    pub filter: Option<String>,
    /// The value when it matches.
    pub value: ScalarOrGradient,
}

/// The setting of one parameter.
#[derive(Debug, Clone, PartialEq)]
pub enum Setting {
    /// A scalar or gradient.
    Plain(ScalarOrGradient),
    /// Conditions tried in order.
    Conditional(Vec<Conditional>),
}

/// The type a parameter's values must have.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ParamType {
    /// A real number.
    Float,
    /// A boolean.
    Bool,
}

/// A parameter value after evaluation.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum ParamValue {
    /// A real number.
    Float(f64),
    /// A boolean.
    Bool(bool),
}

/// Parameters of one scope (global, slice, model), in file order.
pub type Parameters = Vec<(String, Setting)>;

/// Reads a `parameters:` mapping. Errors are plain text; the caller adds the file.
pub fn parse_parameters(value: &Value) -> Result<Parameters, String> {
    let Value::Mapping(map) = value else {
        if value.is_null() {
            return Ok(Vec::new());
        }
        return Err("`parameters` must be a mapping of names to values".into());
    };
    map.iter()
        .map(|(key, setting)| {
            let name = key
                .as_str()
                .ok_or_else(|| format!("parameter name {key:?} is not text"))?;
            let setting = parse_setting(setting).map_err(|e| format!("parameter `{name}`: {e}"))?;
            Ok((name.to_string(), setting))
        })
        .collect()
}

fn parse_scalar(value: &Value) -> Option<Scalar> {
    match value {
        Value::Bool(b) => Some(Scalar::Bool(*b)),
        Value::Number(n) => n.as_f64().map(Scalar::Number),
        Value::String(s) => Some(Scalar::Text(s.clone())),
        _ => None,
    }
}

fn parse_scalar_or_gradient(value: &Value) -> Result<ScalarOrGradient, String> {
    if let Some(s) = parse_scalar(value) {
        return Ok(ScalarOrGradient::Scalar(s));
    }
    if let Value::Sequence(items) = value {
        if let Some(values) = items.iter().map(parse_scalar).collect::<Option<Vec<_>>>() {
            return Ok(ScalarOrGradient::Gradient(values));
        }
    }
    Err(format!(
        "expected a number, boolean, text or a list of them, found {}",
        describe(value)
    ))
}

fn parse_conditional(value: &Value) -> Result<Conditional, String> {
    let Value::Mapping(map) = value else {
        return Err(format!(
            "expected `filter:`/`value:` entries, found {}",
            describe(value)
        ));
    };
    let mut filter = None;
    let mut inner = None;
    for (key, v) in map {
        match key.as_str() {
            Some("filter") => match v {
                Value::String(s) => filter = Some(s.clone()),
                Value::Null => {}
                other => return Err(format!("`filter` must be text, found {}", describe(other))),
            },
            Some("value") => inner = Some(parse_scalar_or_gradient(v)?),
            _ => {
                return Err(format!(
                    "unknown key {key:?} in a conditional value (expected `filter` and `value`)"
                ))
            }
        }
    }
    let value = inner.ok_or("a conditional entry needs a `value`")?;
    Ok(Conditional { filter, value })
}

/// Reads one parameter's setting.
pub fn parse_setting(value: &Value) -> Result<Setting, String> {
    match value {
        Value::Mapping(_) => Ok(Setting::Conditional(vec![parse_conditional(value)?])),
        Value::Sequence(items) if !items.is_empty() && items.iter().all(Value::is_mapping) => {
            Ok(Setting::Conditional(
                items
                    .iter()
                    .map(parse_conditional)
                    .collect::<Result<_, _>>()?,
            ))
        }
        _ => Ok(Setting::Plain(parse_scalar_or_gradient(value)?)),
    }
}

fn describe(value: &Value) -> String {
    match value {
        Value::Null => "nothing (null)".into(),
        Value::Mapping(_) => "a mapping".into(),
        Value::Sequence(_) => "a list".into(),
        Value::Tagged(_) => "a tagged value".into(),
        other => format!("{other:?}"),
    }
}

/// Checks a scalar against a type, converting the way pydantic's lax mode does
/// (numbers in text for floats; `true`/`yes`/`on`/`1` and their opposites for booleans).
pub fn validate(scalar: &Scalar, ty: ParamType) -> Result<ParamValue, String> {
    match (ty, scalar) {
        (ParamType::Float, Scalar::Number(x)) => Ok(ParamValue::Float(*x)),
        (ParamType::Float, Scalar::Text(s)) => s
            .trim()
            .parse::<f64>()
            .map(ParamValue::Float)
            .map_err(|_| format!("`{s}` is not a number")),
        (ParamType::Float, Scalar::Bool(b)) => Err(format!("`{b}` is not a number")),
        (ParamType::Bool, Scalar::Bool(b)) => Ok(ParamValue::Bool(*b)),
        (ParamType::Bool, Scalar::Number(x)) if *x == 0.0 || *x == 1.0 => {
            Ok(ParamValue::Bool(*x == 1.0))
        }
        (ParamType::Bool, Scalar::Text(s)) => match s.trim().to_ascii_lowercase().as_str() {
            "true" | "yes" | "on" | "1" | "t" | "y" => Ok(ParamValue::Bool(true)),
            "false" | "no" | "off" | "0" | "f" | "n" => Ok(ParamValue::Bool(false)),
            _ => Err(format!("`{s}` is not a boolean")),
        },
        (ParamType::Bool, Scalar::Number(x)) => Err(format!("`{x}` is not a boolean")),
    }
}

/// Checks a parameter's value against its domain: every number finite, and
/// `density` (the fraction of each task vector kept) within [0, 1], as
/// mergekit's documentation defines it.
pub fn check_domain(name: &str, value: Option<ParamValue>) -> Result<Option<ParamValue>, String> {
    if let Some(ParamValue::Float(x)) = value {
        if !x.is_finite() {
            return Err(format!("{x} is not a finite number"));
        }
        if name == "density" && !(0.0..=1.0).contains(&x) {
            return Err(format!(
                "{x} is outside [0, 1] (the fraction of values kept)"
            ));
        }
    }
    Ok(value)
}

fn evaluate_plain(
    value: &ScalarOrGradient,
    t: f64,
    ty: ParamType,
) -> Result<Option<ParamValue>, String> {
    match value {
        ScalarOrGradient::Scalar(s) => validate(s, ty).map(Some),
        ScalarOrGradient::Gradient(items) if items.is_empty() => Ok(None),
        ScalarOrGradient::Gradient(items) => {
            let values = items
                .iter()
                .map(|s| validate(s, ty))
                .collect::<Result<Vec<_>, _>>()?;
            let last = values.len() - 1;
            let numbers: Option<Vec<f64>> = values
                .iter()
                .map(|v| match v {
                    ParamValue::Float(x) => Some(*x),
                    ParamValue::Bool(_) => None,
                })
                .collect();
            let Some(numbers) = numbers else {
                // Discrete values are picked, not interpolated (as mergekit does).
                return Ok(Some(values[(t * last as f64) as usize]));
            };
            let scaled = t * last as f64;
            let i0 = scaled as usize;
            let i1 = (i0 + 1).min(last);
            let frac = scaled - i0 as f64;
            Ok(Some(ParamValue::Float(
                (1.0 - frac) * numbers[i0] + frac * numbers[i1],
            )))
        }
    }
}

/// Evaluates a setting for `tensor_name` at gradient position `t` (0 at a
/// slice's first layer, 1 at its last). `None` when no condition matches.
pub fn evaluate(
    setting: &Setting,
    tensor_name: &str,
    t: f64,
    ty: ParamType,
) -> Result<Option<ParamValue>, String> {
    match setting {
        Setting::Plain(value) => evaluate_plain(value, t, ty),
        Setting::Conditional(conditions) => {
            for condition in conditions {
                let matches = match condition.filter.as_deref() {
                    None | Some("*") => true,
                    Some(filter) => !tensor_name.is_empty() && tensor_name.contains(filter),
                };
                if matches {
                    return evaluate_plain(&condition.value, t, ty);
                }
            }
            Ok(None)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn setting(yaml: &str) -> Setting {
        parse_setting(&serde_yaml_ng::from_str(yaml).unwrap()).unwrap()
    }

    fn float(s: &Setting, name: &str, t: f64) -> Option<f64> {
        match evaluate(s, name, t, ParamType::Float).unwrap() {
            Some(ParamValue::Float(x)) => Some(x),
            None => None,
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn gradients_interpolate_linearly_between_anchors() {
        let s = setting("[0, 0.5, 0.3, 0.7, 1]");
        assert_eq!(float(&s, "x", 0.0), Some(0.0));
        assert_eq!(float(&s, "x", 1.0), Some(1.0));
        // t = 0.3 → position 1.2 between 0.5 and 0.3.
        let v = float(&s, "x", 0.3).unwrap();
        assert!((v - (0.8 * 0.5 + 0.2 * 0.3)).abs() < 1e-12, "{v}");
    }

    #[test]
    fn first_matching_filter_wins_and_unmatched_gives_none() {
        let s = setting(
            "[{filter: self_attn, value: 0.1}, {filter: mlp, value: [0, 1]}, {value: 0.5}]",
        );
        assert_eq!(
            float(&s, "model.layers.0.self_attn.q_proj.weight", 0.5),
            Some(0.1)
        );
        assert_eq!(
            float(&s, "model.layers.0.mlp.up_proj.weight", 0.25),
            Some(0.25)
        );
        assert_eq!(float(&s, "model.norm.weight", 0.0), Some(0.5));
        let only = setting("[{filter: mlp, value: 1}]");
        assert_eq!(float(&only, "model.norm.weight", 0.0), None);
    }

    #[test]
    fn numbers_in_text_and_yaml_11_booleans_validate() {
        assert_eq!(
            validate(&Scalar::Text("1e-3".into()), ParamType::Float),
            Ok(ParamValue::Float(1e-3))
        );
        assert_eq!(
            validate(&Scalar::Text("yes".into()), ParamType::Bool),
            Ok(ParamValue::Bool(true))
        );
        assert!(validate(&Scalar::Text("lots".into()), ParamType::Float).is_err());
        assert!(validate(&Scalar::Bool(true), ParamType::Float).is_err());
    }

    #[test]
    fn out_of_domain_values_are_refused() {
        let f = |x| Some(ParamValue::Float(x));
        assert!(check_domain("weight", f(f64::NAN)).is_err());
        assert!(check_domain("weight", f(f64::INFINITY)).is_err());
        assert!(check_domain("weight", f(-3.0)).is_ok());
        assert!(check_domain("density", f(1.5)).is_err());
        assert!(check_domain("density", f(-0.1)).is_err());
        assert!(check_domain("density", f(0.0)).is_ok());
        assert!(check_domain("density", f(1.0)).is_ok());
        assert!(check_domain("normalize", Some(ParamValue::Bool(true))).is_ok());
    }

    #[test]
    fn boolean_gradients_pick_instead_of_interpolating() {
        let s = setting("[false, true]");
        assert_eq!(
            evaluate(&s, "x", 0.9, ParamType::Bool).unwrap(),
            Some(ParamValue::Bool(false))
        );
        assert_eq!(
            evaluate(&s, "x", 1.0, ParamType::Bool).unwrap(),
            Some(ParamValue::Bool(true))
        );
    }
}
