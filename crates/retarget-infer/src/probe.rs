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
