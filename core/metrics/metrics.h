#pragma once

// Image-quality numbers that compare models with data, on 8-bit images as a user would see them.

#include <torch/torch.h>

#include <vector>

namespace le {

// Mean over images of the variance of the Laplacian (OpenCV, 3×3 kernel) on the 8-bit grey
// image: the standard blur measure; a blurry image has little high-frequency content.
double meanSharpness(const torch::Tensor& images);  // N×C×H×W in [-1, 1]

// Radially averaged power spectrum of the grey images (N×C×H×W in [-1, 1], channels averaged),
// each image's mean removed first so that the DC term does not swamp the rest: element r is the
// mean |FFT|² over frequencies whose distance from DC rounds to r, averaged over images, for
// r = 0 .. min(H, W)/2. Blur shows as a spectrum falling faster towards high r.
std::vector<double> radialPowerSpectrum(const torch::Tensor& images);

// The share of a spectrum's power (r >= 1) at radii above half the highest: the high-frequency
// energy. 0 for a spectrum with no power.
double highFrequencyShare(const std::vector<double>& spectrum);

// Mean squared error per pixel on the [-1, 1] scale.
double reconstructionMse(const torch::Tensor& original, const torch::Tensor& reconstruction);

// Fréchet distance between Gaussians fitted to two feature sets (N×D and M×D, N, M >= 2):
// ‖μa − μb‖² + tr(Σa + Σb − 2 (Σa Σb)^½), covariances with the unbiased 1/(N−1), all in double.
// The trace term is tr((Σa^½ Σb Σa^½)^½): the same eigenvalues as Σa Σb, but a symmetric matrix,
// so two symmetric eigen-decompositions compute it without a general matrix square root.
// On the project's classifier features this is "classifier_fd": comparable between models of the
// same dataset and classifier, not with published FID numbers (those use Inception features).
// Throws DataError for too few rows or mismatched widths.
double frechetDistance(const torch::Tensor& featuresA, const torch::Tensor& featuresB);

}  // namespace le
