//! llama.cpp's k-quants without an importance matrix:
//! `quantize_row_q4_K_ref`, `quantize_row_q5_K_ref`, `quantize_row_q6_K_ref`
//! and their helpers `make_qkx2_quants` and `make_qx_quants`
//! (`ggml/src/ggml-quants.c`), operation for operation (see
//! [`super::quants`] for why they are written here).

use super::quants::{half_bytes, through_half};

/// `GROUP_MAX_EPS`.
const GROUP_MAX_EPS: f32 = 1e-15;

/// `nearest_int`: round to nearest, halves to even (the float trick of the C
/// code, valid for |v| ≤ 4194303).
fn nearest_int(v: f32) -> i32 {
    let shifted = v + 12_582_912.0;
    (shifted.to_bits() & 0x007f_ffff) as i32 - 0x0040_0000
}

/// `make_qkx2_quants(n, nmax, x, weights, L, &the_min, Laux, rmin, rdelta,
/// nstep, false)`: returns (scale, the_min) and fills `levels`.
fn make_qkx2_quants(
    nmax: i32,
    x: &[f32],
    weights: &[f32],
    levels: &mut [u8],
    (rmin, rdelta, nstep): (f32, f32, i32),
) -> (f32, f32) {
    let n = x.len();
    let (mut min, mut max) = (x[0], x[0]);
    let mut sum_w = weights[0];
    let mut sum_x = sum_w * x[0];
    for i in 1..n {
        if x[i] < min {
            min = x[i];
        }
        if x[i] > max {
            max = x[i];
        }
        let w = weights[i];
        sum_w += w;
        sum_x += w * x[i];
    }
    if min > 0.0 {
        min = 0.0;
    }
    if max == min {
        levels.iter_mut().for_each(|l| *l = 0);
        return (0.0, -min);
    }
    let mut iscale = nmax as f32 / (max - min);
    let mut scale = 1.0 / iscale;
    let mut best_error = 0f32;
    for i in 0..n {
        let l = nearest_int(iscale * (x[i] - min));
        levels[i] = l.clamp(0, nmax) as u8;
        let diff = scale * f32::from(levels[i]) + min - x[i];
        best_error += weights[i] * (diff * diff);
    }
    let mut aux = [0u8; 32];
    for step in 0..=nstep {
        iscale = (rmin + rdelta * step as f32 + nmax as f32) / (max - min);
        let (mut sum_l, mut sum_l2, mut sum_xl) = (0f32, 0f32, 0f32);
        for i in 0..n {
            let l = nearest_int(iscale * (x[i] - min)).clamp(0, nmax);
            aux[i] = l as u8;
            let (w, l) = (weights[i], l as f32);
            sum_l += w * l;
            sum_l2 += w * l * l;
            sum_xl += w * l * x[i];
        }
        let det = sum_w * sum_l2 - sum_l * sum_l;
        if det > 0.0 {
            let mut this_scale = (sum_w * sum_xl - sum_x * sum_l) / det;
            let mut this_min = (sum_l2 * sum_x - sum_l * sum_xl) / det;
            if this_min > 0.0 {
                this_min = 0.0;
                this_scale = sum_xl / sum_l2;
            }
            let mut error = 0f32;
            for i in 0..n {
                let diff = this_scale * f32::from(aux[i]) + this_min - x[i];
                error += weights[i] * (diff * diff);
            }
            if error < best_error {
                levels[..n].copy_from_slice(&aux[..n]);
                best_error = error;
                scale = this_scale;
                min = this_min;
            }
        }
    }
    (scale, -min)
}

/// `make_qx_quants(n, nmax, x, L, rmse_type = 1, NULL)` (q6_K's search):
/// returns the scale and fills `levels` with `l + nmax`.
fn make_qx_quants_rmse1(nmax: i32, x: &[f32], levels: &mut [i8]) -> f32 {
    let (mut amax, mut max) = (0f32, 0f32);
    for &v in x {
        if v.abs() > amax {
            amax = v.abs();
            max = v;
        }
    }
    if amax < GROUP_MAX_EPS {
        levels.iter_mut().for_each(|l| *l = 0);
        return 0.0;
    }
    let nmaxf = nmax as f32;
    let mut iscale = -nmaxf / max;
    let (mut sum_lx, mut sum_l2) = (0f32, 0f32);
    for (i, &v) in x.iter().enumerate() {
        let l = nearest_int(iscale * v).clamp(-nmax, nmax - 1);
        levels[i] = (l + nmax) as i8;
        let w = v * v;
        let l = l as f32;
        sum_lx += w * v * l;
        sum_l2 += w * l * l;
    }
    let mut scale = if sum_l2 != 0.0 { sum_lx / sum_l2 } else { 0.0 };
    let mut best = scale * sum_lx;
    for step in -9..=9 {
        if step == 0 {
            continue;
        }
        iscale = -(nmaxf + 0.1 * step as f32) / max;
        sum_lx = 0.0;
        sum_l2 = 0.0;
        for &v in x {
            let l = nearest_int(iscale * v).clamp(-nmax, nmax - 1) as f32;
            let w = v * v;
            sum_lx += w * v * l;
            sum_l2 += w * l * l;
        }
        if sum_l2 > 0.0 && sum_lx * sum_lx > best * sum_l2 {
            for (i, &v) in x.iter().enumerate() {
                let l = nearest_int(iscale * v).clamp(-nmax, nmax - 1);
                levels[i] = (l + nmax) as i8;
            }
            scale = sum_lx / sum_l2;
            best = scale * sum_lx;
        }
    }
    scale
}

/// `get_scale_min_k4`.
fn scale_min_k4(j: usize, q: &[u8; 12]) -> (u8, u8) {
    if j < 4 {
        (q[j] & 63, q[j + 4] & 63)
    } else {
        (
            (q[j + 4] & 0xF) | ((q[j - 4] >> 6) << 4),
            (q[j + 4] >> 4) | ((q[j] >> 6) << 4),
        )
    }
}

/// The part q4_K and q5_K share: sub-block scales and minimums searched
/// with weights `sqrt(mean x²) + |x|`, packed 6-bit, and each value's level
/// (0..=nmax) against the packed scales. Returns (d, dmin, scales, levels).
fn scaled_min_levels(
    x: &[f32],
    nmax: i32,
    search: (f32, f32, i32),
) -> ([u8; 2], [u8; 2], [u8; 12], [u8; 256]) {
    let mut levels = [0u8; 256];
    let (mut scales, mut mins) = ([0f32; 8], [0f32; 8]);
    let (mut max_scale, mut max_min) = (0f32, 0f32);
    for j in 0..8 {
        let sub = &x[32 * j..32 * (j + 1)];
        let mut sum_x2 = 0f32;
        for &v in sub {
            sum_x2 += v * v;
        }
        let av_x = (sum_x2 / 32.0).sqrt();
        let mut weights = [0f32; 32];
        for (w, &v) in weights.iter_mut().zip(sub) {
            *w = av_x + v.abs();
        }
        let (scale, min) = make_qkx2_quants(
            nmax,
            sub,
            &weights,
            &mut levels[32 * j..32 * (j + 1)],
            search,
        );
        scales[j] = scale;
        mins[j] = min;
        if scale > max_scale {
            max_scale = scale;
        }
        if min > max_min {
            max_min = min;
        }
    }
    let inv_scale = if max_scale > 0.0 {
        63.0 / max_scale
    } else {
        0.0
    };
    let inv_min = if max_min > 0.0 { 63.0 / max_min } else { 0.0 };
    let mut packed = [0u8; 12];
    for j in 0..8 {
        let ls = (nearest_int(inv_scale * scales[j]) as u8).min(63);
        let lm = (nearest_int(inv_min * mins[j]) as u8).min(63);
        if j < 4 {
            packed[j] = ls;
            packed[j + 4] = lm;
        } else {
            packed[j + 4] = (ls & 0xF) | ((lm & 0xF) << 4);
            packed[j - 4] |= (ls >> 4) << 6;
            packed[j] |= (lm >> 4) << 6;
        }
    }
    let d = half_bytes(max_scale / 63.0);
    let dmin = half_bytes(max_min / 63.0);
    let (d_value, dmin_value) = (through_half(max_scale / 63.0), through_half(max_min / 63.0));
    for j in 0..8 {
        let (sc, m) = scale_min_k4(j, &packed);
        let d = d_value * f32::from(sc);
        if d == 0.0 {
            continue;
        }
        let dm = dmin_value * f32::from(m);
        for i in 0..32 {
            let l = nearest_int((x[32 * j + i] + dm) / d);
            levels[32 * j + i] = l.clamp(0, nmax) as u8;
        }
    }
    (d, dmin, packed, levels)
}

/// `quantize_row_q4_K_ref` of one super-block of 256 values.
pub(super) fn q4_k(x: &[f32], out: &mut Vec<u8>) {
    let (d, dmin, scales, levels) = scaled_min_levels(x, 15, (-1.0, 0.1, 20));
    out.extend(d);
    out.extend(dmin);
    out.extend(scales);
    for chunk in levels.chunks_exact(64) {
        out.extend((0..32).map(|l| chunk[l] | (chunk[l + 32] << 4)));
    }
}

/// `quantize_row_q5_K_ref` of one super-block of 256 values.
pub(super) fn q5_k(x: &[f32], out: &mut Vec<u8>) {
    let (d, dmin, scales, levels) = scaled_min_levels(x, 31, (-0.5, 0.1, 15));
    out.extend(d);
    out.extend(dmin);
    out.extend(scales);
    let mut qh = [0u8; 32];
    let mut qs = [0u8; 128];
    let (mut m1, mut m2) = (1u8, 2u8);
    for (n, chunk) in levels.chunks_exact(64).enumerate() {
        for j in 0..32 {
            let mut l1 = chunk[j];
            if l1 > 15 {
                l1 -= 16;
                qh[j] |= m1;
            }
            let mut l2 = chunk[j + 32];
            if l2 > 15 {
                l2 -= 16;
                qh[j] |= m2;
            }
            qs[32 * n + j] = l1 | (l2 << 4);
        }
        m1 <<= 2;
        m2 <<= 2;
    }
    out.extend(qh);
    out.extend(qs);
}

/// `quantize_row_q6_K_ref` of one super-block of 256 values.
pub(super) fn q6_k(x: &[f32], out: &mut Vec<u8>) {
    let mut levels = [0i8; 256];
    let mut scales = [0f32; 16];
    let (mut max_scale, mut max_abs_scale) = (0f32, 0f32);
    for (ib, scale) in scales.iter_mut().enumerate() {
        *scale = make_qx_quants_rmse1(
            32,
            &x[16 * ib..16 * (ib + 1)],
            &mut levels[16 * ib..16 * (ib + 1)],
        );
        if scale.abs() > max_abs_scale {
            max_abs_scale = scale.abs();
            max_scale = *scale;
        }
    }
    if max_abs_scale < GROUP_MAX_EPS {
        out.extend([0u8; 208]);
        out.extend(half_bytes(0.0));
        return;
    }
    let iscale = -128.0 / max_scale;
    let d = half_bytes(1.0 / iscale);
    let d_value = through_half(1.0 / iscale);
    let mut packed_scales = [0i8; 16];
    for (packed, &scale) in packed_scales.iter_mut().zip(&scales) {
        *packed = nearest_int(iscale * scale).min(127) as i8;
    }
    for j in 0..16 {
        let d = d_value * f32::from(packed_scales[j]);
        if d == 0.0 {
            continue;
        }
        for i in 0..16 {
            let l = nearest_int(x[16 * j + i] / d).clamp(-32, 31);
            levels[16 * j + i] = (l + 32) as i8;
        }
    }
    let mut ql = [0u8; 128];
    let mut qh = [0u8; 64];
    for (half, chunk) in levels.chunks_exact(128).enumerate() {
        let level = |i: usize| chunk[i] as u8;
        for l in 0..32 {
            let (q1, q2, q3, q4) = (level(l), level(l + 32), level(l + 64), level(l + 96));
            ql[64 * half + l] = (q1 & 0xF) | ((q3 & 0xF) << 4);
            ql[64 * half + l + 32] = (q2 & 0xF) | ((q4 & 0xF) << 4);
            qh[32 * half + l] = (q1 >> 4) | ((q2 >> 4) << 2) | ((q3 >> 4) << 4) | ((q4 >> 4) << 6);
        }
    }
    out.extend(ql);
    out.extend(qh);
    out.extend(packed_scales.iter().map(|&s| s as u8));
    out.extend(d);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nearest_int_rounds_halves_to_even() {
        assert_eq!(nearest_int(0.5), 0);
        assert_eq!(nearest_int(1.5), 2);
        assert_eq!(nearest_int(2.5), 2);
        assert_eq!(nearest_int(-0.5), 0);
        assert_eq!(nearest_int(-1.5), -2);
        assert_eq!(nearest_int(3.4), 3);
        assert_eq!(nearest_int(-3.6), -4);
    }

    #[test]
    fn q6_k_of_zeros_is_zero_and_of_a_ramp_reconstructs_closely() {
        let mut out = Vec::new();
        q6_k(&[0.0; 256], &mut out);
        assert_eq!(out, vec![0u8; 210]);
        let x: Vec<f32> = (0..256)
            .map(|i| ((i * 37 % 101) as f32 - 50.0) / 25.0)
            .collect();
        let mut out = Vec::new();
        q6_k(&x, &mut out);
        assert_eq!(out.len(), 210);
        // Dequantize as ggml's dequantize_row_q6_K does.
        let (ql, qh, sc) = (&out[..128], &out[128..192], &out[192..208]);
        let d = half::f16::from_le_bytes([out[208], out[209]]).to_f32();
        let mut y = vec![0f32; 256];
        for half in 0..2 {
            for l in 0..32 {
                let is = 8 * half + l / 16;
                let (ql, qh) = (&ql[64 * half..], &qh[32 * half..]);
                let q = [
                    ((ql[l] & 0xF) | ((qh[l] & 3) << 4)) as i32 - 32,
                    ((ql[l + 32] & 0xF) | (((qh[l] >> 2) & 3) << 4)) as i32 - 32,
                    ((ql[l] >> 4) | (((qh[l] >> 4) & 3) << 4)) as i32 - 32,
                    ((ql[l + 32] >> 4) | (((qh[l] >> 6) & 3) << 4)) as i32 - 32,
                ];
                for (k, q) in q.iter().enumerate() {
                    let s = sc[is + 2 * k] as i8;
                    y[128 * half + l + 32 * k] = d * f32::from(s) * *q as f32;
                }
            }
        }
        let worst = x
            .iter()
            .zip(&y)
            .map(|(a, b)| (a - b).abs())
            .fold(0f32, f32::max);
        assert!(worst < 0.05, "{worst}");
    }
}
