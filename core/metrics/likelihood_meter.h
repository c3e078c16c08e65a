#pragma once

// The likelihood meter behind the latent map: every loaded model of the current dataset that has
// a likelihood (exact for Glow and PixelCNN, a bound for the VAE's ELBO and the VQ-VAE) scores the
// decoded image in bits per dimension, beside a reference band of where held-out test images lie
// under the same model, so that an edit which leaves the data manifold shows as a number outside
// the band.
//
// The image scored is the 8-bit picture on screen (the decoder's output already rounded to 0..255),
// so the numbers describe exactly what the user sees. A plain class (no threads, no signals): the
// interactive worker owns one and calls it after each decode; tests can drive it directly.

#include "models/generative_model.h"
#include "core/storage/model_catalog.h"

#include <QMetaType>
#include <QString>
#include <QStringList>
#include <QVector>

#include <opencv2/core.hpp>

#include <functional>
#include <limits>
#include <map>
#include <memory>
#include <vector>

namespace le {

// One scoring model's row of the meter.
struct LikelihoodScore {
    static constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

    QString path;          // the scoring checkpoint
    QString family;        // "glow", "pixelcnn", "vae", "vqvae"
    QString title;         // "Glow", "PixelCNN", "VAE" (familyTitle)
    bool exact = false;    // exact log p(x) (Glow, PixelCNN); false: a bound (ELBO)
    bool decoder = false;  // the model that decoded the image (the map's own model)

    double bpd = kNaN;   // bits per dimension of the image; NaN until scored
    bool fresh = false;  // bpd is of this result's image (false: carried over from an earlier one)

    // Where held-out test images lie under this model: the 5th, 50th and 95th percentile of their
    // bits per dimension over bandImages images (NaN while none are scored yet).
    double bandLow = kNaN, bandMedian = kNaN, bandHigh = kNaN;
    int bandImages = 0;
    bool bandComplete = false;
    double checkpointBpd = kNaN;  // the held-out "bpd" its checkpoint header records, if any

    QString error;  // why this model cannot score (failed to load, evaluate threw)

    bool hasValue() const { return bpd == bpd; }
    bool hasBand() const { return bandImages > 0 && bandLow == bandLow && bandHigh == bandHigh; }
    // +1 above the band (less likely than nearly all test images), -1 below it, 0 inside or
    // unknown.
    int sideOfBand() const;
};

// The meter's answer for one decode request: same id as the DecodeResult it scores.
struct ScoreResult {
    quint64 id = 0;
    QVector<LikelihoodScore> scores;  // one per scoring model, in a stable order
    double scoreMs = 0;               // time spent scoring this image in the worker
    bool bandsComplete = true;        // every band rests on all its reference images
};

// The bits per dimension of one image (1×C×H×W in [-1, 1]) under a model: its evaluate()'s "bpd"
// (exact for Glow and PixelCNN, the negative ELBO with β = 1 for the VAE, recon + prior for the
// VQ-VAE). Throws ModelError when the family reports none.
double imageBitsPerDim(GenerativeModel& model, const torch::Tensor& image);
// The q-quantile (0..1) with linear interpolation between order statistics; NaN for none.
double quantile(std::vector<double> values, double q);

class LikelihoodMeter {
public:
    static constexpr int kReferenceImages = 200;  // held-out images behind each band
    static constexpr double kBandLowQuantile = 0.05;
    static constexpr double kBandHighQuantile = 0.95;

    // The checkpoints among `candidates` that can score images of a model trained on `dataset`
    // with `shape`: generative, same dataset and shape, with an exact likelihood or a bound.
    // Header only; unreadable files are skipped.
    static QVector<CatalogEntry> selectScorers(const QStringList& candidates,
                                               const QString& dataset, const ImageShape& shape);

    // Forgets the scorers (bands already measured stay cached by checkpoint and device).
    void clear();
    // Adds a scorer. `key` identifies the model for the band cache (its path|device).
    void addScorer(const CatalogEntry& entry, std::shared_ptr<GenerativeModel> model,
                   const QString& key, double checkpointBpd, bool decoder);
    // A scorer that could not be loaded: a row with its error.
    void addFailedScorer(const CatalogEntry& entry, const QString& error);
    // The held-out images the bands are measured on (N×C×H×W in [-1, 1], 8-bit levels); at most
    // kReferenceImages are used, spread over the set.
    void setReferenceImages(const torch::Tensor& images);

    int scorerCount() const { return int(m_scorers.size()); }
    bool bandsComplete() const;
    // Measures more of the bands: scores reference images, one at a time, until every band is
    // complete, `budgetMs` has passed or `stop` returns true. Returns how many bands completed
    // during this call.
    int refineBands(double budgetMs, const std::function<bool()>& stop);

    // Scores an 8-bit grey or RGB image (as the GUI shows it) with every scorer, the one that
    // waited longest first; stops early when `stop` returns true (a newer image is waiting), the
    // rows not scored keep their last value with fresh = false.
    ScoreResult score(quint64 id, const cv::Mat& image, const std::function<bool()>& stop = {});
    // The meter as it stands (last values, current bands), labelled with `id`: values scored for
    // that id are fresh.
    ScoreResult snapshot(quint64 id) const;

private:
    struct Reference {
        std::vector<double> values;  // bits per dim of the reference images scored so far
        bool complete = false;
    };
    struct Scorer {
        LikelihoodScore row;
        std::shared_ptr<GenerativeModel> model;
        QString key;
        quint64 valueId = 0;     // request id the row's bpd belongs to
        quint64 lastScored = 0;  // order: the scorer that waited longest goes first
    };

    // What a meter row says of its checkpoint, before any score.
    static Scorer scorerFor(const CatalogEntry& entry);
    Reference& referenceOf(const Scorer& scorer);
    const Reference* findReference(const Scorer& scorer) const;
    LikelihoodScore rowWithBand(const Scorer& scorer) const;

    std::vector<Scorer> m_scorers;
    torch::Tensor m_reference;                  // the reference images, on the CPU
    std::map<QString, Reference> m_references;  // key: the scorer's key and the reference size
    quint64 m_round = 0;
};

}  // namespace le

Q_DECLARE_METATYPE(le::LikelihoodScore)
Q_DECLARE_METATYPE(le::ScoreResult)
