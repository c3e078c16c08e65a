#include "core/jobs/compare_job.h"

#include "core/data/datasets.h"
#include "core/errors.h"
#include "core/imaging/fit.h"
#include "core/imaging/image_io.h"
#include "core/latent/sample_quality.h"
#include "core/latent/sampling.h"
#include "core/metrics/metrics.h"
#include "core/storage/model_catalog.h"

#include <QElapsedTimer>
#include <QFileInfo>

#include <cmath>

namespace le {

namespace {

constexpr int kGridColumns = 8;

bool isNone(double v) {
    return std::isnan(v);
}

QString number(double v, int decimals) {
    return isNone(v) ? QString() : QString::number(v, 'f', decimals);
}

QString csvField(QString text) {
    if (text.contains(',') || text.contains('"') || text.contains('\n'))
        text = '"' + text.replace('"', QStringLiteral("\"\"")) + '"';
    return text;
}

// The first measured row of a family of this kind, or null.
const CompareRow* rowOf(const std::vector<CompareRow>& rows, ModelKind kind) {
    for (const CompareRow& r : rows)
        if (familyKind(r.family) == kind && r.error.isEmpty() && !isNone(r.sharpnessRatio))
            return &r;
    return nullptr;
}

QString ratios(const CompareRow& r) {
    return QStringLiteral("%1 (sharpness %2\u00d7, high-frequency energy %3\u00d7 the data's)")
        .arg(familyTitle(r.family), number(r.sharpnessRatio, 2), number(r.highFrequencyRatio, 2));
}

}  // namespace

QString blurVerdict(const std::vector<CompareRow>& rows) {
    const CompareRow* vae = rowOf(rows, ModelKind::VariationalAutoencoder);
    const CompareRow* gan = rowOf(rows, ModelKind::Adversarial);
    QStringList lines;
    if (vae) {
        const bool sharpLess = vae->sharpnessRatio < 1.0;
        const bool hfLess = vae->highFrequencyRatio < 1.0;
        if (sharpLess && hfLess)
            lines << QObject::tr("VAE blurrier than the data: yes \u2014 %1.").arg(ratios(*vae));
        else if (!sharpLess && !hfLess)
            lines << QObject::tr("VAE blurrier than the data: no \u2014 %1.").arg(ratios(*vae));
        else
            lines << QObject::tr("VAE blurrier than the data: the two measures disagree \u2014 %1.")
                         .arg(ratios(*vae));
    } else {
        lines << QObject::tr("No VAE here: its half of the claim cannot be checked.");
    }
    if (gan && vae) {
        const bool sharper = gan->sharpnessRatio > vae->sharpnessRatio &&
                             gan->highFrequencyRatio > vae->highFrequencyRatio;
        const bool blurrier = gan->sharpnessRatio < vae->sharpnessRatio &&
                              gan->highFrequencyRatio < vae->highFrequencyRatio;
        lines << (sharper    ? QObject::tr("GAN sharper than the VAE: yes \u2014 %1.")
                  : blurrier ? QObject::tr("GAN sharper than the VAE: no \u2014 %1.")
                             : QObject::tr("GAN sharper than the VAE: the two measures "
                                           "disagree \u2014 %1."))
                     .arg(ratios(*gan));
    } else if (gan) {
        lines << QObject::tr("GAN: %1.").arg(ratios(*gan));
    } else {
        lines << QObject::tr("No GAN here: its half of the claim cannot be checked.");
    }
    return lines.join('\n');
}

QString compareCsv(const std::vector<CompareRow>& rows) {
    QString csv = QStringLiteral(
        "model,checkpoint,temperature,sharpness,sharpness_ratio,high_frequency_share,high_"
        "frequency_ratio,"
        "recon_mse,bits_per_dim,classifier_fd,recon_classifier_fd,ms_per_sample,error\n");
    for (const CompareRow& r : rows) {
        const QStringList fields = {csvField(r.title),
                                    csvField(QFileInfo(r.checkpointPath).fileName()),
                                    number(r.temperature, 2),
                                    number(r.sharpness, 2),
                                    number(r.sharpnessRatio, 4),
                                    number(r.highFrequency, 5),
                                    number(r.highFrequencyRatio, 4),
                                    number(r.reconstructionMse, 5),
                                    number(r.bitsPerDim, 4),
                                    number(r.classifierFd, 4),
                                    number(r.reconstructionFd, 4),
                                    number(r.msPerSample, 3),
                                    csvField(r.error)};
        csv += fields.join(',') + '\n';
    }
    return csv;
}

CompareJob::CompareJob(QObject* parent) : RequestJob(QStringLiteral("compare-job"), parent) {
    qRegisterMetaType<le::CompareRow>();
}

CompareJob::~CompareJob() {
    stop();
}

void CompareJob::process(quint64 generation) {
    const CompareRequest& r = request();
    const qint64 total = qint64(r.count) * (r.checkpoints.size() + 1);
    torch::NoGradGuard noGrad;
    report(generation, 0, total, tr("Loading %1\u2026").arg(r.dataset));
    const Dataset& data = DatasetCache::instance().get(r.dataset);
    const SampleReference reference =
        makeSampleReference(data.test, r.dataset, r.count, r.realForDistance, r.classifierPath);
    const int64_t count = reference.real.size(0);

    CompareRow dataRow;
    dataRow.family = QStringLiteral("data");
    dataRow.title = QStringLiteral("Data \u00b7 %1").arg(r.dataset);
    dataRow.grid = tileImages(reference.real, kGridColumns);
    dataRow.spectrum = reference.spectrum;
    dataRow.sharpness = reference.sharpness;
    dataRow.sharpnessRatio = 1.0;
    dataRow.highFrequency = reference.highFrequency;
    dataRow.highFrequencyRatio = 1.0;
    dataRow.classifierFd = reference.fdFloor;
    dataRow.error = reference.note;  // the table still fills, without the distances
    emit rowReady(generation, 0, dataRow);
    report(generation, count, total);

    models().keepOnly(r.checkpoints);
    for (int i = 0; i < r.checkpoints.size() && !superseded(); ++i) {
        const qint64 before = qint64(count) * (i + 1);
        CompareRow start;
        start.checkpointPath = r.checkpoints[i];
        start.title = QFileInfo(start.checkpointPath).fileName();
        emit rowReady(
            generation, i + 1, capturingErrors(std::move(start), [&](CompareRow& out) {
                const auto loaded = models().get(out.checkpointPath, r.device);
                GenerativeModel& model = *loaded->model;
                out.family = loaded->header.family;
                out.title = QStringLiteral("%1 \u00b7 %2")
                                .arg(familyTitle(out.family), loaded->header.dataset);
                const Capabilities caps = model.capabilities();
                if (!caps.sample)
                    throw DataError(
                        QStringLiteral("%1: a %2 model cannot sample")
                            .arg(QFileInfo(out.checkpointPath).fileName(), familyTitle(out.family))
                            .toStdString());
                out.temperature = r.temperature > 0 ? r.temperature : model.defaultTemperature();
                QElapsedTimer timer;
                timer.start();
                const torch::Tensor samples = sampleInChunks(
                    model, count, out.temperature, r.seed, [&](int64_t done, int64_t) {
                        report(generation, before + done, total,
                               tr("Sampling %1\u2026").arg(out.title));
                        return !superseded();
                    });
                if (!samples.defined()) throw DataError("cancelled");
                out.msPerSample = timer.nsecsElapsed() / 1e6 / double(count);
                report(generation, before + count, total, tr("Measuring %1\u2026").arg(out.title));
                const SampleQuality quality = measureSamples(samples, reference);
                const ImageShape dataShape{reference.real.size(1), reference.real.size(2),
                                           reference.real.size(3)};
                out.grid = tileImages(toDataShape(samples, dataShape).clamp(-1, 1), kGridColumns);
                out.spectrum = quality.spectrum;
                out.sharpness = quality.sharpness;
                out.sharpnessRatio = quality.sharpnessRatio;
                out.highFrequency = quality.highFrequency;
                out.highFrequencyRatio = quality.highFrequencyRatio;
                out.classifierFd = quality.classifierFd;
                if (quality.nonFinite > 0)
                    out.error = QStringLiteral(
                                    "%1 of %2 samples have non-finite pixels: no "
                                    "classifier distance")
                                    .arg(quality.nonFinite)
                                    .arg(count);

                const torch::Tensor real =
                    fitToShape(reference.real, model.imageShape()).to(model.device());
                if (caps.encode && caps.decode) {
                    const torch::Tensor recon = model.decode(model.encode(real));
                    out.reconstructionMse = reconstructionMse(real, recon);
                    out.reconstructionFd = measureSamples(recon, reference).classifierFd;
                }
                if (caps.exactLikelihood) {
                    const Metrics m = model.evaluate(real);
                    if (m.count("bpd")) out.bitsPerDim = m.at("bpd");
                }
            }));
    }
}

}  // namespace le
