//! Named places in a decoder's forward pass where states can be read and
//! changed: the one mechanism the logit lens, language-specific neurons and
//! steering use. A [`Probe`] (passed to one forward pass) says which
//! [`Site`]s it wants; the forward pass hands it those states (and uses what
//! it returns in their place) and skips every other site, so a probe that
//! wants nothing costs nothing. A [`Steer`] is a change installed in the
//! decoder for every forward pass (so `score`, `generate`, `translate` and
//! `lens` all run steered); steers apply before the probe sees the states.

use std::sync::Arc;

use candle_core::Tensor;

/// A place in the forward pass. Layers count from 0 for a layer's parts;
/// the residual stream is numbered as the logit lens numbers it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Site {
    /// The residual stream: 0 = the (scaled) embeddings, `n` = after layer
    /// `n` (1-based), `(batch, seq, hidden)`.
    Residual(usize),
    /// What layer `i`'s attention returns (after its output projection,
    /// before any output norm of the layer), `(batch, seq, hidden)`.
    Attention(usize),
    /// What layer `i`'s MLP returns (after its down projection, before any
    /// output norm of the layer), `(batch, seq, hidden)`.
    Mlp(usize),
    /// Layer `i`'s MLP neurons: the activation of the gate, `act_fn(gate)`,
    /// before it multiplies the up projection, `(batch, seq, intermediate)`.
    MlpActivation(usize),
}

impl Site {
    /// The site's name, as `capture` and steer files write it:
    /// `residual:N`, `attention:I`, `mlp:I` or `mlp-activation:I`.
    pub fn name(self) -> String {
        match self {
            Site::Residual(n) => format!("residual:{n}"),
            Site::Attention(i) => format!("attention:{i}"),
            Site::Mlp(i) => format!("mlp:{i}"),
            Site::MlpActivation(i) => format!("mlp-activation:{i}"),
        }
    }

    /// Parses [`Site::name`] for a decoder of `layers` layers; the error
    /// says what is wrong (an unknown kind, a layer out of range).
    pub fn parse(name: &str, layers: usize) -> Result<Site, String> {
        let usage = || {
            format!(
                "site `{name}`: expected residual:N (0..={layers}), attention:I, mlp:I or mlp-activation:I (0..{layers})"
            )
        };
        let (kind, index) = name.split_once(':').ok_or_else(usage)?;
        let index: usize = index.parse().map_err(|_| usage())?;
        let (site, last) = match kind {
            "residual" => (Site::Residual(index), layers),
            "attention" => (Site::Attention(index), layers.saturating_sub(1)),
            "mlp" => (Site::Mlp(index), layers.saturating_sub(1)),
            "mlp-activation" => (Site::MlpActivation(index), layers.saturating_sub(1)),
            _ => return Err(usage()),
        };
        if index > last {
            return Err(format!(
                "site `{name}`: layer {index} is out of range; this model has {layers} layers ({kind} 0..={last})"
            ));
        }
        Ok(site)
    }
}

/// Reads, and may change, the states at the sites it wants.
pub trait Probe {
    /// Whether [`Probe::visit`] is to see `site` (others are skipped).
    fn wants(&self, site: Site) -> bool;

    /// Sees the states at `site` for positions `offset..offset + seq` of the
    /// sequence (`offset` = positions already in the key/value cache) and
    /// returns the states the forward pass continues with (the same tensor
    /// to only read them).
    fn visit(&mut self, site: Site, states: Tensor, offset: usize) -> candle_core::Result<Tensor>;
}

/// The probe that wants nothing: the plain forward pass.
pub struct NoProbe;

impl Probe for NoProbe {
    fn wants(&self, _: Site) -> bool {
        false
    }

    fn visit(&mut self, _: Site, states: Tensor, _: usize) -> candle_core::Result<Tensor> {
        Ok(states)
    }
}

/// Reads the residual stream after each layer with a closure
/// `observe(n, states)` (`n` as in [`Site::Residual`]).
pub struct ResidualObserver<F>(pub F);

impl<F> Probe for ResidualObserver<F>
where
    F: FnMut(usize, &Tensor) -> candle_core::Result<()>,
{
    fn wants(&self, site: Site) -> bool {
        matches!(site, Site::Residual(_))
    }

    fn visit(&mut self, site: Site, states: Tensor, _: usize) -> candle_core::Result<Tensor> {
        if let Site::Residual(n) = site {
            (self.0)(n, &states)?;
        }
        Ok(states)
    }
}

/// A change to the states at some sites, installed in a decoder for every
/// forward pass (`Decoder::add_steer`): deactivating neurons, adding a
/// language vector, mapping one language's representations toward
/// another's.
pub trait Steer: Send + Sync {
    /// Whether [`Steer::apply`] changes `site`.
    fn wants(&self, site: Site) -> bool;

    /// The changed states at `site` for positions `offset..offset + seq`.
    fn apply(&self, site: Site, states: Tensor, offset: usize) -> candle_core::Result<Tensor>;
}

/// Which positions of a sequence a steer changes. A forward pass that
/// starts an empty key/value cache (`offset` 0) runs the prompt (`score` and
/// `lens` run their whole text so); later passes run generated tokens.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Span {
    /// Every position.
    #[default]
    All,
    /// The prompt's positions only.
    Prompt,
    /// Generated tokens only.
    Generated,
    /// The prompt's last position only (where generation starts).
    LastPrompt,
}

impl Span {
    /// Parses `all`, `prompt`, `generated` or `last-prompt`.
    pub fn parse(name: &str) -> Option<Span> {
        match name {
            "all" => Some(Span::All),
            "prompt" => Some(Span::Prompt),
            "generated" => Some(Span::Generated),
            "last-prompt" => Some(Span::LastPrompt),
            _ => None,
        }
    }
}

/// A steer applied at the positions of a [`Span`] only.
pub struct Spanned {
    /// The change.
    pub steer: Arc<dyn Steer>,
    /// Where it applies.
    pub span: Span,
}

impl Steer for Spanned {
    fn wants(&self, site: Site) -> bool {
        self.steer.wants(site)
    }

    fn apply(&self, site: Site, states: Tensor, offset: usize) -> candle_core::Result<Tensor> {
        let prompt = offset == 0;
        match self.span {
            Span::All => self.steer.apply(site, states, offset),
            Span::Prompt if prompt => self.steer.apply(site, states, offset),
            Span::Generated if !prompt => self.steer.apply(site, states, offset),
            Span::LastPrompt if prompt => {
                // States are (batch, seq, width): only the last position changes.
                let seq = states.dim(1)?;
                let last = states.narrow(1, seq - 1, 1)?;
                let changed = self.steer.apply(site, last, offset + seq - 1)?;
                if seq == 1 {
                    return Ok(changed);
                }
                Tensor::cat(&[&states.narrow(1, 0, seq - 1)?, &changed], 1)
            }
            _ => Ok(states),
        }
    }
}

/// The states at `site` after every steer that changes it, as `probe` sees
/// (and may change) them; untouched when nothing wants the site.
pub(crate) fn at(
    probe: &mut dyn Probe,
    steers: &[Arc<dyn Steer>],
    site: Site,
    mut states: Tensor,
    offset: usize,
) -> candle_core::Result<Tensor> {
    for steer in steers {
        if steer.wants(site) {
            states = steer.apply(site, states, offset)?;
        }
    }
    if probe.wants(site) {
        probe.visit(site, states, offset)
    } else {
        Ok(states)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use candle_core::Device;

    /// Adds 1 everywhere it applies.
    struct AddOne;

    impl Steer for AddOne {
        fn wants(&self, _: Site) -> bool {
            true
        }

        fn apply(&self, _: Site, states: Tensor, _: usize) -> candle_core::Result<Tensor> {
            states + 1.0
        }
    }

    fn rows(span: Span, offset: usize, seq: usize) -> Vec<f32> {
        let states = Tensor::zeros((1, seq, 2), candle_core::DType::F32, &Device::Cpu).unwrap();
        let spanned = Spanned {
            steer: Arc::new(AddOne),
            span,
        };
        let out = spanned.apply(Site::Residual(1), states, offset).unwrap();
        // One value per position.
        out.squeeze(0)
            .unwrap()
            .to_vec2::<f32>()
            .unwrap()
            .iter()
            .map(|r| r[0])
            .collect()
    }

    #[test]
    fn spans_change_only_their_positions() {
        assert_eq!(rows(Span::All, 0, 3), [1.0, 1.0, 1.0]);
        assert_eq!(rows(Span::All, 5, 1), [1.0]);
        assert_eq!(rows(Span::Prompt, 0, 3), [1.0, 1.0, 1.0]);
        assert_eq!(rows(Span::Prompt, 3, 1), [0.0]);
        assert_eq!(rows(Span::Generated, 0, 3), [0.0, 0.0, 0.0]);
        assert_eq!(rows(Span::Generated, 3, 1), [1.0]);
        assert_eq!(rows(Span::LastPrompt, 0, 3), [0.0, 0.0, 1.0]);
        assert_eq!(rows(Span::LastPrompt, 0, 1), [1.0]);
        assert_eq!(rows(Span::LastPrompt, 3, 1), [0.0]);
    }

    #[test]
    fn site_names_round_trip_and_bad_ones_are_refused() {
        for site in [
            Site::Residual(0),
            Site::Residual(4),
            Site::Attention(3),
            Site::Mlp(0),
            Site::MlpActivation(3),
        ] {
            assert_eq!(Site::parse(&site.name(), 4), Ok(site));
        }
        for bad in ["residual:5", "mlp:4", "attention", "mlp_out:1", "mlp:x"] {
            assert!(Site::parse(bad, 4).is_err(), "{bad}");
        }
    }
}
