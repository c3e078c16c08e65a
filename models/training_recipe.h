#pragma once

// What practitioners wrap around an optimiser step, shared by every family: a learning rate with
// linear warm-up and cosine decay, gradient-norm clipping (a step whose gradient is not finite is
// skipped, not taken), and an exponential moving average (EMA) of the weights for sampling.
//
// Config keys, read by each family over its own defaults (the VQ-VAE's prior reads them with the
// prefix "prior_"):
//   lr        the peak learning rate, in (0, 1]
//   warmup    steps of linear warm-up to lr (0..1e8)
//   cosine    steps after the warm-up over which the rate falls along a half cosine to
//             lr·lr_floor, then stays there; 0: constant after the warm-up (0..1e9)
//   lr_floor  the fraction of lr the cosine ends at, in [0, 1]
//   clip      the largest gradient norm a step takes; 0: no clipping
//   ema       the weight average's decay, in [0, 1); 0: none. Ramped in as
//             min(ema, (1 + t)/(10 + t)) after t updates, so short runs are not averaged over
//             their random start.

#include "models/generative_model.h"

#include <string>
#include <vector>

namespace le {

struct OptimiserRecipe {
    double lr = 1e-3;
    int64_t warmup = 0;
    int64_t cosine = 0;
    double lrFloor = 0.05;
    double clip = 0;
    double ema = 0;

    // These defaults overridden by the config's keys (with `prefix`); ModelError naming the
    // family and the key for a value out of range.
    OptimiserRecipe read(const ModelConfig& config, const std::string& family,
                         const std::string& prefix = std::string()) const;
    void write(ModelConfig& config, const std::string& prefix = std::string()) const;
    // The rate for the step after `stepsTaken` steps.
    double learningRate(int64_t stepsTaken) const;
};

// Sets every parameter group of an Adam optimiser to `lr`.
void setAdamLearningRate(torch::optim::Optimizer& optimizer, double lr);

// After backward(): clips the gradient of `parameters` to `clip` (when > 0) and takes the step
// unless the gradient norm is not finite. Returns the norm before clipping.
double clippedStep(torch::optim::Optimizer& optimizer, const std::vector<torch::Tensor>& parameters,
                   double clip);

// The R1 penalty (Mescheder et al. 2018) of a discriminator on reals: the mean over images of
// ‖∇_x score‖², for `realScores` (one per image, or any shape summing to them) computed from
// `realIn`, which requires grad. Differentiable, for adding to the discriminator's loss.
torch::Tensor r1Penalty(const torch::Tensor& realScores, const torch::Tensor& realIn);

// An exponential moving average of some parameters. The shadow copy is made at the first update
// (after any data-dependent initialisation) and moves with the model.
class WeightAverage {
public:
    // Which parameters to average, with what decay (0: none).
    void reset(std::vector<torch::Tensor> parameters, double decay);
    bool enabled() const { return m_decay > 0.0 && !m_parameters.empty(); }
    bool started() const { return !m_shadow.empty(); }
    // shadow ← d·shadow + (1 − d)·parameter, d = min(decay, (1 + updates)/(10 + updates)).
    void update();
    // Exchanges the averaged and the live values in place; a second call exchanges them back.
    void swap();
    bool swapped() const { return m_swapped; }
    // Makes the averaged values the live ones for good and starts averaging afresh; an average
    // that is not finite everywhere is dropped instead. Returns whether the average was taken.
    bool adopt();
    void to(torch::Device device);
    int64_t updates() const { return m_updates; }

private:
    std::vector<torch::Tensor> m_parameters;
    std::vector<torch::Tensor> m_shadow;
    double m_decay = 0.0;
    int64_t m_updates = 0;
    bool m_swapped = false;
};

// While it lives, the model holds its averaged weights (if it keeps an average that has started).
class AveragedWeightsScope {
public:
    explicit AveragedWeightsScope(GenerativeModel& model);
    ~AveragedWeightsScope();
    AveragedWeightsScope(const AveragedWeightsScope&) = delete;
    AveragedWeightsScope& operator=(const AveragedWeightsScope&) = delete;

private:
    WeightAverage* m_average = nullptr;
};

}  // namespace le
