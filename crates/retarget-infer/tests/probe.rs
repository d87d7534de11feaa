//! The probe sites of the decoder: every site is visited with the right
//! shapes, a probe that reads changes nothing, and a change at a site
//! changes what follows it.

mod common;

use std::collections::HashSet;

use candle_core::{Device, Tensor};
use common::max_abs_diff;
use retarget_fixtures::{write_fixture, Fixture};
use retarget_infer::decoder::{KvCache, Positions};
use retarget_infer::probe::{NoProbe, Probe, Site};
use retarget_infer::LanguageModel;

/// Records every site and shape; zeroes the chosen layer's MLP neurons.
struct Recorder {
    seen: Vec<(Site, Vec<usize>, usize)>,
    zero_neurons_of: Option<usize>,
}

impl Probe for Recorder {
    fn wants(&self, _: Site) -> bool {
        true
    }

    fn visit(&mut self, site: Site, states: Tensor, offset: usize) -> candle_core::Result<Tensor> {
        self.seen.push((site, states.dims().to_vec(), offset));
        if site == Site::MlpActivation(self.zero_neurons_of.unwrap_or(usize::MAX)) {
            return states.zeros_like();
        }
        Ok(states)
    }
}

#[test]
fn every_site_is_visited_reading_changes_nothing_and_writing_changes_the_output() {
    let dir = tempfile::tempdir().unwrap();
    write_fixture(Fixture::LlamaUntied, dir.path()).unwrap();
    let model = LanguageModel::open(dir.path(), &Device::Cpu).unwrap();
    let config = model.decoder.config().clone();
    let ids = Tensor::new(&[[5u32, 9, 14, 3]], &Device::Cpu).unwrap();
    let plain = {
        let mut cache = KvCache::new(config.num_layers);
        let hidden = model
            .decoder
            .residual_stream(&ids, &mut cache, &mut NoProbe)
            .unwrap();
        model.decoder.logits(&hidden).unwrap()
    };
    let forward = model
        .decoder
        .forward(&ids, &mut KvCache::new(config.num_layers), Positions::All)
        .unwrap();
    assert_eq!(max_abs_diff(&plain, &forward), 0.0);

    let mut reader = Recorder {
        seen: Vec::new(),
        zero_neurons_of: None,
    };
    let mut cache = KvCache::new(config.num_layers);
    let hidden = model
        .decoder
        .residual_stream(&ids, &mut cache, &mut reader)
        .unwrap();
    assert_eq!(
        max_abs_diff(&model.decoder.logits(&hidden).unwrap(), &plain),
        0.0
    );
    let sites: HashSet<Site> = reader.seen.iter().map(|(s, _, _)| *s).collect();
    let layers = config.num_layers;
    assert_eq!(sites.len(), (layers + 1) + 3 * layers);
    for (site, dims, offset) in &reader.seen {
        let width = match site {
            Site::MlpActivation(_) => config.intermediate_size,
            _ => config.hidden_size,
        };
        assert_eq!(dims, &vec![1, 4, width], "{site:?}");
        assert_eq!(*offset, 0);
    }
    // The next position sees offset 4.
    let next = Tensor::new(&[[7u32]], &Device::Cpu).unwrap();
    reader.seen.clear();
    model
        .decoder
        .residual_stream(&next, &mut cache, &mut reader)
        .unwrap();
    assert!(reader.seen.iter().all(|(_, d, o)| d[1] == 1 && *o == 4));

    let mut zeroing = Recorder {
        seen: Vec::new(),
        zero_neurons_of: Some(layers - 1),
    };
    let hidden = model
        .decoder
        .residual_stream(&ids, &mut KvCache::new(layers), &mut zeroing)
        .unwrap();
    let changed = model.decoder.logits(&hidden).unwrap();
    assert!(max_abs_diff(&changed, &plain) > 1e-4);
}
