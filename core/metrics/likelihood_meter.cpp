#include "core/metrics/likelihood_meter.h"

#include "core/storage/checkpoint.h"
#include "core/imaging/image_io.h"

#include <QElapsedTimer>
#include <QFileInfo>

#include <algorithm>
#include <cmath>

namespace le {

int LikelihoodScore::sideOfBand() const {
    if (!hasValue() || !hasBand()) return 0;
    if (bpd > bandHigh) return 1;
    if (bpd < bandLow) return -1;
    return 0;
}

double imageBitsPerDim(GenerativeModel& model, const torch::Tensor& image) {
    torch::NoGradGuard noGrad;
    model.train(false);
    const Metrics metrics = model.evaluate(image);
    const auto bpd = metrics.find("bpd");
    if (bpd == metrics.end())
        throw ModelError(model.family() + ": evaluate() reports no bits per dimension");
    return bpd->second;
}

double quantile(std::vector<double> values, double q) {
    values.erase(
        std::remove_if(values.begin(), values.end(), [](double v) { return !std::isfinite(v); }),
        values.end());
    if (values.empty()) return LikelihoodScore::kNaN;
    std::sort(values.begin(), values.end());
    const double position = std::clamp(q, 0.0, 1.0) * double(values.size() - 1);
    const auto below = static_cast<std::size_t>(std::floor(position));
    const std::size_t above = std::min(below + 1, values.size() - 1);
    const double t = position - double(below);
    return values[below] * (1.0 - t) + values[above] * t;
}

QVector<CatalogEntry> LikelihoodMeter::selectScorers(const QStringList& candidates,
                                                     const QString& dataset,
                                                     const ImageShape& shape) {
    QVector<CatalogEntry> chosen;
    for (const CatalogEntry& entry : scanCheckpoints({}, candidates)) {
        const bool likelihood =
            entry.capabilities.exactLikelihood || entry.capabilities.likelihoodBound;
        if (likelihood && entry.dataset == dataset && entry.shape == shape) chosen.push_back(entry);
    }
    // Exact likelihoods first (they are the ground truth), then bounds; by family within each.
    std::stable_sort(chosen.begin(), chosen.end(),
                     [](const CatalogEntry& a, const CatalogEntry& b) {
                         if (a.capabilities.exactLikelihood != b.capabilities.exactLikelihood)
                             return a.capabilities.exactLikelihood;
                         return a.family < b.family;
                     });
    return chosen;
}

void LikelihoodMeter::clear() {
    m_scorers.clear();
}

LikelihoodMeter::Scorer LikelihoodMeter::scorerFor(const CatalogEntry& entry) {
    Scorer scorer;
    scorer.row.path = entry.path;
    scorer.row.family = entry.family;
    scorer.row.title = familyTitle(entry.family);
    scorer.row.exact = entry.capabilities.exactLikelihood;
    return scorer;
}

void LikelihoodMeter::addScorer(const CatalogEntry& entry, std::shared_ptr<GenerativeModel> model,
                                const QString& key, double checkpointBpd, bool decoder) {
    Scorer scorer = scorerFor(entry);
    scorer.row.decoder = decoder;
    scorer.row.checkpointBpd = checkpointBpd;
    scorer.model = std::move(model);
    scorer.key = key;
    m_scorers.push_back(std::move(scorer));
}

void LikelihoodMeter::addFailedScorer(const CatalogEntry& entry, const QString& error) {
    Scorer scorer = scorerFor(entry);
    scorer.row.error = error;
    m_scorers.push_back(std::move(scorer));
}

void LikelihoodMeter::setReferenceImages(const torch::Tensor& images) {
    if (!images.defined() || images.size(0) == 0) {
        m_reference = torch::Tensor();
        return;
    }
    const int64_t n = images.size(0);
    const int64_t count = std::min<int64_t>(n, kReferenceImages);
    // Spread over the set: a folder of images may be sorted by class or by source.
    const torch::Tensor index =
        torch::linspace(0, double(n - 1), count, torch::kDouble).round().to(torch::kLong);
    m_reference = images.index_select(0, index).to(torch::kCPU, torch::kFloat).contiguous();
}

LikelihoodMeter::Reference& LikelihoodMeter::referenceOf(const Scorer& scorer) {
    const QString key =
        scorer.key + QStringLiteral("#%1").arg(m_reference.defined() ? m_reference.size(0) : 0);
    return m_references[key];
}

const LikelihoodMeter::Reference* LikelihoodMeter::findReference(const Scorer& scorer) const {
    const QString key =
        scorer.key + QStringLiteral("#%1").arg(m_reference.defined() ? m_reference.size(0) : 0);
    const auto found = m_references.find(key);
    return found == m_references.end() ? nullptr : &found->second;
}

bool LikelihoodMeter::bandsComplete() const {
    if (!m_reference.defined()) return true;  // nothing to measure on
    for (const Scorer& scorer : m_scorers) {
        if (!scorer.model) continue;
        const Reference* reference = findReference(scorer);
        if (!reference || !reference->complete) return false;
    }
    return true;
}

int LikelihoodMeter::refineBands(double budgetMs, const std::function<bool()>& stop) {
    if (!m_reference.defined()) return 0;
    QElapsedTimer timer;
    timer.start();
    int completed = 0;
    const int64_t total = m_reference.size(0);
    // One scorer's band at a time, so that the first bands are whole early.
    for (Scorer& scorer : m_scorers) {
        if (!scorer.model) continue;
        Reference& reference = referenceOf(scorer);
        while (!reference.complete) {
            if ((stop && stop()) || timer.nsecsElapsed() / 1e6 >= budgetMs) return completed;
            const int64_t i = int64_t(reference.values.size());
            try {
                reference.values.push_back(
                    imageBitsPerDim(*scorer.model, m_reference.slice(0, i, i + 1)));
            } catch (const std::exception& e) {
                scorer.row.error = QString::fromUtf8(e.what());
                reference.complete = true;  // a model that cannot evaluate gets no band
                ++completed;
                break;
            }
            if (int64_t(reference.values.size()) >= total) {
                reference.complete = true;
                ++completed;
            }
        }
    }
    return completed;
}

LikelihoodScore LikelihoodMeter::rowWithBand(const Scorer& scorer) const {
    LikelihoodScore row = scorer.row;
    if (const Reference* reference = findReference(scorer)) {
        row.bandImages = int(reference->values.size());
        row.bandComplete = reference->complete;
        row.bandLow = quantile(reference->values, kBandLowQuantile);
        row.bandMedian = quantile(reference->values, 0.5);
        row.bandHigh = quantile(reference->values, kBandHighQuantile);
    }
    return row;
}

ScoreResult LikelihoodMeter::score(quint64 id, const cv::Mat& image,
                                   const std::function<bool()>& stop) {
    QElapsedTimer timer;
    timer.start();
    ++m_round;
    if (!image.empty()) {
        // The picture on screen, back to [-1, 1] on exact 8-bit levels.
        const torch::Tensor x = matToTensor(image);
        std::vector<Scorer*> order;
        for (Scorer& scorer : m_scorers)
            if (scorer.model) order.push_back(&scorer);
        std::stable_sort(order.begin(), order.end(), [](const Scorer* a, const Scorer* b) {
            return a->lastScored < b->lastScored;
        });
        bool first = true;
        for (Scorer* scorer : order) {
            // Always score at least one model, so that a fast drag still moves the meter.
            if (!first && stop && stop()) break;
            first = false;
            scorer->lastScored = m_round;
            scorer->valueId = id;
            try {
                if (x.size(1) != scorer->model->imageShape().channels)
                    throw ModelError("the image has " + std::to_string(x.size(1)) +
                                     " channels; the model takes " +
                                     std::to_string(scorer->model->imageShape().channels));
                scorer->row.bpd = imageBitsPerDim(*scorer->model, x);
                scorer->row.error.clear();
            } catch (const std::exception& e) {
                scorer->row.bpd = LikelihoodScore::kNaN;
                scorer->row.error = QString::fromUtf8(e.what());
            }
        }
    }
    ScoreResult result = snapshot(id);
    result.scoreMs = timer.nsecsElapsed() / 1e6;
    return result;
}

ScoreResult LikelihoodMeter::snapshot(quint64 id) const {
    ScoreResult result;
    result.id = id;
    result.bandsComplete = bandsComplete();
    for (const Scorer& scorer : m_scorers) {
        LikelihoodScore row = rowWithBand(scorer);
        row.fresh = scorer.model && scorer.valueId == id && row.hasValue();
        result.scores.push_back(row);
    }
    return result;
}

}  // namespace le
