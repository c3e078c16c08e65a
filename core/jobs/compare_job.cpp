#include "core/jobs/compare_job.h"

#include "core/data/datasets.h"
#include "core/errors.h"
#include "core/imaging/fit.h"
#include "core/imaging/image_io.h"
#include "core/metrics/classification.h"
#include "core/metrics/metrics.h"
#include "core/storage/checkpoint.h"
#include "core/storage/model_catalog.h"

#include <QElapsedTimer>
#include <QFileInfo>

#include <cmath>

namespace le {

struct CompareJob::ClassifierBox {
    LoadedClassifier loaded;
};

namespace {

constexpr int kGridColumns = 8;

// A model's images at the data's shape: a model that pads (Fashion-MNIST 28 -> 32) is cropped
// back, so that sharpness and spectra compare the same pixels; anything else is resized.
torch::Tensor toDataShape(const torch::Tensor& images, const ImageShape& data) {
    torch::Tensor x = images;
    const int64_t dh = x.size(2) - data.height, dw = x.size(3) - data.width;
    if (dh > 0 && dw > 0 && dh % 2 == 0 && dw % 2 == 0)
        x = x.slice(2, dh / 2, dh / 2 + data.height).slice(3, dw / 2, dw / 2 + data.width);
    return fitToShape(x, data);
}

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

// The row of a family with the lowest (or highest) sharpness ratio, or null.
const CompareRow* rowOf(const std::vector<CompareRow>& rows, const QString& family) {
    for (const CompareRow& r : rows)
        if (r.family == family && r.error.isEmpty() && !isNone(r.sharpnessRatio)) return &r;
    return nullptr;
}

QString ratios(const CompareRow& r) {
    return QStringLiteral("%1 (sharpness %2\u00d7, high-frequency energy %3\u00d7 the data's)")
        .arg(familyTitle(r.family), number(r.sharpnessRatio, 2), number(r.highFrequencyRatio, 2));
}

}  // namespace

QString blurVerdict(const std::vector<CompareRow>& rows) {
    const CompareRow* vae = rowOf(rows, QStringLiteral("vae"));
    const CompareRow* gan = rowOf(rows, QStringLiteral("dcgan"));
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
        "model,checkpoint,sharpness,sharpness_ratio,high_frequency_share,high_frequency_ratio,"
        "recon_mse,bits_per_dim,classifier_fd,ms_per_sample,error\n");
    for (const CompareRow& r : rows) {
        const QStringList fields = {csvField(r.title),
                                    csvField(QFileInfo(r.checkpointPath).fileName()),
                                    number(r.sharpness, 2),
                                    number(r.sharpnessRatio, 4),
                                    number(r.highFrequency, 5),
                                    number(r.highFrequencyRatio, 4),
                                    number(r.reconstructionMse, 5),
                                    number(r.bitsPerDim, 4),
                                    number(r.classifierFd, 4),
                                    number(r.msPerSample, 3),
                                    csvField(r.error)};
        csv += fields.join(',') + '\n';
    }
    return csv;
}

CompareJob::CompareJob(QObject* parent) : QThread(parent) {
    qRegisterMetaType<le::CompareRow>();
    setObjectName(QStringLiteral("compare-job"));
}

CompareJob::~CompareJob() {
    m_cancel = true;
    wait();
}

quint64 CompareJob::begin(const CompareRequest& request) {
    m_cancel = true;
    wait();  // between sample chunks: at most a few PixelCNN images
    m_cancel = false;
    m_request = request;
    const quint64 generation = ++m_generation;
    start(QThread::LowPriority);
    return generation;
}

void CompareJob::cancel() {
    m_cancel = true;
}

void CompareJob::run() {
    const quint64 generation = m_generation;
    const CompareRequest request = m_request;
    const qint64 total = qint64(request.count) * (request.checkpoints.size() + 1);
    QString error;
    try {
        torch::NoGradGuard noGrad;
        emit progress(generation, 0, total, tr("Loading %1\u2026").arg(request.dataset));
        const Dataset& data = DatasetCache::instance().get(request.dataset);
        const int64_t n = data.test.size();
        const int64_t count = std::min<int64_t>(request.count, n);
        if (count < 2)
            throw DataError(QStringLiteral("%1: needs at least 2 test images, has %2")
                                .arg(request.dataset)
                                .arg(n)
                                .toStdString());
        m_real = data.test.images.slice(0, 0, count);
        m_heldOut =
            data.test.images.slice(0, count, std::min<int64_t>(n, count + request.realForDistance));

        CompareRow row;
        row.family = QStringLiteral("data");
        row.title = QStringLiteral("Data \u00b7 %1").arg(request.dataset);
        row.grid = tileImages(m_real, kGridColumns);
        row.spectrum = radialPowerSpectrum(m_real);
        row.sharpness = meanSharpness(m_real);
        row.sharpnessRatio = 1.0;
        row.highFrequency = highFrequencyShare(row.spectrum);
        row.highFrequencyRatio = 1.0;

        m_classifier.reset();
        m_heldOutFeatures = torch::Tensor();
        const QString classifierPath = request.classifierPath.isEmpty()
                                           ? shippedClassifierPath(request.dataset)
                                           : request.classifierPath;
        if (!classifierPath.isEmpty() && m_heldOut.size(0) >= 2) {
            try {
                m_classifier = std::make_shared<ClassifierBox>();
                m_classifier->loaded = loadClassifierCheckpoint(classifierPath);
                Classifier& classifier = *m_classifier->loaded.classifier;
                const ImageShape shape = classifier.imageShape();
                m_heldOutFeatures = classifierFeatures(classifier, fitToShape(m_heldOut, shape));
                row.classifierFd = frechetDistance(
                    classifierFeatures(classifier, fitToShape(m_real, shape)), m_heldOutFeatures);
            } catch (const std::exception& e) {
                m_classifier.reset();
                row.error = QString::fromUtf8(e.what());  // the table still fills, without FD
            }
        }
        emit rowReady(generation, 0, row);
        emit progress(generation, count, total, {});

        for (int i = 0; i < request.checkpoints.size() && !m_cancel; ++i)
            emit rowReady(generation, i + 1,
                          compareModel(request.checkpoints[i], request, row, generation,
                                       qint64(count) * (i + 1), total));
    } catch (const std::exception& e) {
        error = QString::fromUtf8(e.what());
    }
    m_real = m_heldOut = m_heldOutFeatures = torch::Tensor();
    m_classifier.reset();
    emit jobFinished(generation, m_cancel.load(), error);
}

CompareRow CompareJob::compareModel(const QString& path, const CompareRequest& request,
                                    const CompareRow& data, quint64 generation, qint64 doneBefore,
                                    qint64 total) {
    CompareRow out;
    out.checkpointPath = path;
    try {
        torch::Device device = deviceFromName(request.device);
        LoadedCheckpoint loaded = loadCheckpoint(path, device);
        GenerativeModel& model = *loaded.model;
        out.family = QString::fromStdString(model.family());
        out.title =
            QStringLiteral("%1 \u00b7 %2").arg(familyTitle(out.family), loaded.header.dataset);
        model.train(false);
        const Capabilities caps = model.capabilities();
        if (!caps.sample)
            throw DataError(QStringLiteral("%1: a %2 model cannot sample")
                                .arg(QFileInfo(path).fileName(), out.family)
                                .toStdString());
        const int64_t count = m_real.size(0);
        const ImageShape dataShape{m_real.size(1), m_real.size(2), m_real.size(3)};

        // Autoregressive samplers draw a few at a time so that progress moves and a cancel
        // waits for one chunk; the others draw in one batch (seed + chunk index per chunk).
        const int64_t chunk = caps.autoregressive ? 8 : count;
        std::vector<torch::Tensor> parts;
        QElapsedTimer timer;
        timer.start();
        for (int64_t done = 0, index = 0; done < count; done += chunk, ++index) {
            if (m_cancel) throw DataError("cancelled");
            const int64_t n = std::min(chunk, count - done);
            emit progress(generation, doneBefore + done, total,
                          tr("Sampling %1\u2026").arg(out.title));
            parts.push_back(
                model.sample(n, request.temperature, request.seed + quint64(index)).cpu());
        }
        out.msPerSample = timer.nsecsElapsed() / 1e6 / double(count);
        const torch::Tensor samples = toDataShape(torch::cat(parts), dataShape);
        emit progress(generation, doneBefore + count, total,
                      tr("Measuring %1\u2026").arg(out.title));

        out.grid = tileImages(samples, kGridColumns);
        out.spectrum = radialPowerSpectrum(samples);
        out.sharpness = meanSharpness(samples);
        out.highFrequency = highFrequencyShare(out.spectrum);
        if (data.sharpness > 0) out.sharpnessRatio = out.sharpness / data.sharpness;
        if (data.highFrequency > 0) out.highFrequencyRatio = out.highFrequency / data.highFrequency;

        const torch::Tensor real = fitToShape(m_real, model.imageShape()).to(device);
        if (caps.encode && caps.decode)
            out.reconstructionMse = reconstructionMse(real, model.decode(model.encode(real)));
        if (caps.exactLikelihood) {
            const Metrics m = model.evaluate(real);
            if (m.count("bpd")) out.bitsPerDim = m.at("bpd");
        }
        if (m_classifier && m_heldOutFeatures.defined()) {
            Classifier& classifier = *m_classifier->loaded.classifier;
            out.classifierFd = frechetDistance(
                classifierFeatures(classifier, fitToShape(samples, classifier.imageShape())),
                m_heldOutFeatures);
        }
    } catch (const std::exception& e) {
        out.error = QString::fromUtf8(e.what());
        if (out.title.isEmpty()) out.title = QFileInfo(path).fileName();
    }
    return out;
}

}  // namespace le
