// One temperature across families. First what T means in each family's sample(): VAE and DCGAN
// latents scale with T (the GAN's truncation ψ), Glow's ε scales with T at every level, and the
// PixelCNN and the VQ-VAE prior sharpen as T falls (lower entropy per step, fewer distinct
// values; on the shipped checkpoints). Then the Temperature tab, driven through its slider, spin
// box and sweep check box over tiny untrained models of every family: every row is the model's
// own sample for the one seed, T changes every row, the same T and seed give the same grid,
// fast rows finish before the autoregressive ones (which fill in), the last slider position
// wins over a running job, the sweep shows five temperatures, cancel stops, and a vanished
// checkpoint is named in its row.

#include "core/imaging/image_io.h"
#include "core/jobs/temperature_grid_job.h"
#include "core/latent/interpolation.h"
#include "core/latent/sampling.h"
#include "core/storage/checkpoint.h"
#include "core/storage/model_catalog.h"
#include "models/glow.h"
#include "models/pixelcnn.h"
#include "models/vqvae.h"
#include "tiny_checkpoints.h"
#include "ui/qt_image.h"
#include "ui/views/temperature_view.h"
#include "ui/widgets/series_colours.h"

#include <QCheckBox>
#include <QComboBox>
#include <QDir>
#include <QDoubleSpinBox>
#include <QFile>
#include <QFileInfo>
#include <QLocale>
#include <QProgressBar>
#include <QPushButton>
#include <QSettings>
#include <QSignalSpy>
#include <QSlider>
#include <QSpinBox>
#include <QStandardPaths>
#include <QTemporaryDir>
#include <QtTest>

#include <cmath>
#include <set>

using le::TemperatureView;

namespace {

constexpr int kSize = 28;

std::unique_ptr<le::GenerativeModel> makeModel(const std::string& family, le::ModelConfig config,
                                               const le::ImageShape& shape = {1, kSize, kSize}) {
    return le::test::makeTinyModel(family, std::move(config), shape);
}

using le::test::tinyConfig;

QString pretrained(const QString& file) {
    return QDir(qEnvironmentVariable("LE_SOURCE_DIR")).filePath("models/pretrained/" + file);
}

// The model's own samples for (K, T, seed), as the view shows them.
std::vector<QImage> expectedImages(const QString& path, int count, double t, quint64 seed) {
    le::LoadedCheckpoint loaded = le::loadCheckpoint(path);
    loaded.model->train(false);
    torch::NoGradGuard noGrad;
    const torch::Tensor x = loaded.model->sample(count, t, seed);
    std::vector<QImage> out;
    for (int64_t i = 0; i < x.size(0); ++i) out.push_back(le::matToQImage(le::tensorToMat(x[i])));
    return out;
}

QImage expectedTile(const QString& path, int count, double t, quint64 seed, int columns) {
    le::LoadedCheckpoint loaded = le::loadCheckpoint(path);
    loaded.model->train(false);
    torch::NoGradGuard noGrad;
    return le::matToQImage(le::tileImages(loaded.model->sample(count, t, seed), columns));
}

std::vector<QImage> rowImages(const TemperatureView& view, int row) {
    std::vector<QImage> out;
    for (int c = 0; c < view.gridColumns(); ++c) out.push_back(view.cellImage(row, c));
    return out;
}

double entropy(const torch::Tensor& p) {
    const torch::Tensor q = p.to(torch::kDouble).clamp_min(1e-300);
    return -(q * q.log()).sum().item<double>();
}

}  // namespace

class TestTemperatureView : public QObject {
    Q_OBJECT

private slots:
    void initTestCase();
    void latentScalesWithT_data();
    void latentScalesWithT();
    void glowScalesEpsilonAtEveryLevel();
    void autoregressiveSharpensAsTFalls_data();
    void autoregressiveSharpensAsTFalls();
    void progressiveSamplingIsTheModelsOwn_data();
    void progressiveSamplingIsTheModelsOwn();
    void sliderResamplesEveryRowWithOneSeed();
    void fastRowsDoNotWaitForSlowOnes();
    void lastSliderPositionWins();
    void sweepShowsEachFamilyAtFiveTemperatures();
    void cancelStopsAndMissingFileIsNamed();

private:
    TemperatureView* makeView();
    QTemporaryDir m_tmp;
    QVector<le::CatalogEntry> m_catalog;
    // The fast three beside a wider PixelCNN (untrained), slow enough to be caught mid-way.
    QVector<le::CatalogEntry> m_slowCatalog;
};

void TestTemperatureView::initTestCase() {
    QStandardPaths::setTestModeEnabled(true);
    QLocale::setDefault(QLocale::c());  // "1.00" typed into the spin box
    QSettings().clear();
    QVERIFY(m_tmp.isValid());
    const char* families[] = {"vae", "dcgan", "glow", "pixelcnn", "vqvae"};
    char prefix = 'a';
    for (const char* family : families) {
        auto model = makeModel(family, tinyConfig(family));
        if (std::string(family) == "dcgan") {
            // Untrained and this small, the generator's output hardly depends on z (batch norm
            // at its initial statistics); spread weights make every latent show.
            torch::NoGradGuard noGrad;
            for (auto& p : model->module().parameters()) p.normal_(0.0, 0.3);
        }
        le::CheckpointHeader header;
        header.dataset = QStringLiteral("fashion-mnist");
        le::saveCheckpoint(m_tmp.filePath(QStringLiteral("%1_%2.lec").arg(prefix++).arg(family)),
                           *model, header);
    }
    m_catalog = le::scanCheckpoints({m_tmp.path()});
    QCOMPARE(int(m_catalog.size()), 5);

    le::ModelConfig wide = tinyConfig("pixelcnn");
    wide.set("hidden", int64_t{64});
    wide.set("layers", int64_t{5});
    auto slow = makeModel("pixelcnn", wide);
    le::CheckpointHeader header;
    header.dataset = QStringLiteral("fashion-mnist");
    QVERIFY(QDir(m_tmp.path()).mkpath("slow"));
    le::saveCheckpoint(m_tmp.filePath("slow/d_pixelcnn_wide.lec"), *slow, header);
    m_slowCatalog = m_catalog.mid(0, 3);
    m_slowCatalog += le::scanCheckpoints({m_tmp.filePath("slow")});
    QCOMPARE(int(m_slowCatalog.size()), 4);
}

TemperatureView* TestTemperatureView::makeView() {
    auto* view = new TemperatureView;
    view->resize(1180, 720);
    view->setCheckpoints(m_catalog);
    return view;
}

// ---- what T means, family by family -------------------------------------------------------

void TestTemperatureView::latentScalesWithT_data() {
    QTest::addColumn<QString>("family");
    QTest::addColumn<double>("t");
    QTest::newRow("VAE: the prior's sigma, T = 0.5") << "vae" << 0.5;
    QTest::newRow("VAE: the prior's sigma, T = 1.5") << "vae" << 1.5;
    QTest::newRow("DCGAN: truncation psi = 0.25") << "dcgan" << 0.25;
    QTest::newRow("DCGAN: truncation psi = 0.7") << "dcgan" << 0.7;
}

void TestTemperatureView::latentScalesWithT() {
    QFETCH(QString, family);
    QFETCH(double, t);
    auto model = makeModel(family.toStdString(), tinyConfig(family.toStdString()));
    torch::NoGradGuard noGrad;
    const torch::Tensor one = model->samplePrior(64, 1.0, 9);
    const torch::Tensor scaled = model->samplePrior(64, t, 9);
    // The same noise, pulled toward the prior's mean (0) by T: z_T = T·z_1, so every norm scales.
    QVERIFY(torch::allclose(scaled, one * t, 1e-5, 1e-6));
    const torch::Tensor ratio = scaled.norm(2, 1) / one.norm(2, 1);
    QVERIFY2(torch::allclose(ratio, torch::full_like(ratio, t), 1e-4, 1e-5),
             qPrintable(QString::number(ratio.mean().item<double>())));
    // And sample() decodes exactly those latents.
    QVERIFY(torch::allclose(model->sample(4, t, 9), model->decode(model->samplePrior(4, t, 9)),
                            1e-5, 1e-5));
}

void TestTemperatureView::glowScalesEpsilonAtEveryLevel() {
    auto model = makeModel("glow", tinyConfig("glow"));
    auto& glow = dynamic_cast<le::Glow&>(*model);
    glow.train(false);
    torch::NoGradGuard noGrad;
    // Run each sample back through the flow: its standardised noise per level is T·ε. This stays
    // in flow space (before decode's clamp to the image range), since an untrained tiny flow puts
    // some pixels of its samples outside [-1, 1].
    auto epsOf = [&](double t) {
        const torch::Tensor flat = glow.samplePrior(8, t, 4);
        std::vector<torch::Tensor> levels;
        int64_t offset = 0;
        for (const auto& s : glow.net()->latentShapes()) {
            const int64_t size = s[0] * s[1] * s[2];
            levels.push_back(flat.narrow(1, offset, size).reshape({8, s[0], s[1], s[2]}));
            offset += size;
        }
        return glow.net()->forward(glow.net()->reverse(levels)).eps;
    };
    const auto base = epsOf(1.0);
    QCOMPARE(int(base.size()), 2);
    for (double t : {0.3, 0.7, 1.4}) {
        const auto eps = epsOf(t);
        for (size_t level = 0; level < eps.size(); ++level) {
            const double ratio = (eps[level].norm() / base[level].norm()).item<double>();
            QVERIFY2(
                std::abs(ratio - t) < 0.01 * t,
                qPrintable(
                    QStringLiteral("level %1, T %2: norm ratio %3").arg(level).arg(t).arg(ratio)));
            QVERIFY(torch::allclose(eps[level], base[level] * t, 1e-3, 1e-3));
        }
    }
}

void TestTemperatureView::autoregressiveSharpensAsTFalls_data() {
    QTest::addColumn<QString>("file");
    QTest::addColumn<int>("count");
    QTest::newRow("PixelCNN: softmax(logits / T) per pixel") << "pixelcnn_fashion-mnist.lec" << 2;
    QTest::newRow("VQ-VAE: softmax(logits / T) per code") << "vqvae_fashion-mnist.lec" << 16;
}

void TestTemperatureView::autoregressiveSharpensAsTFalls() {
    QFETCH(QString, file);
    QFETCH(int, count);
    const QString path = pretrained(file);
    if (!QFileInfo::exists(path)) QSKIP("the shipped checkpoint is not in LE_SOURCE_DIR");
    le::LoadedCheckpoint loaded = le::loadCheckpoint(path);
    le::GenerativeModel& model = *loaded.model;
    model.train(false);
    torch::NoGradGuard noGrad;
    double previousEntropy = 1e300, entropyAtOne = 0;
    int64_t previousDistinct = std::numeric_limits<int64_t>::max();
    for (double t : {1.0, 0.5, 0.25}) {
        // The distributions the sampler draws from, step by step, and the values it drew:
        // pixel values (PixelCNN) or codes (VQ-VAE), over `count` samples of seeds 3, 4, ...
        double sum = 0;
        int64_t steps = 0;
        std::vector<torch::Tensor> values;
        for (int i = 0; i < count; ++i) {
            le::SamplerOptions options;
            options.temperature = t;
            options.seed = quint64(3 + i);
            auto sampler = model.sampler(options);
            while (!sampler->done()) {
                const le::SampleStep s = sampler->step();
                if (!s.probabilities.defined()) continue;
                sum += entropy(s.probabilities);
                ++steps;
            }
            values.push_back(sampler->values().flatten());
        }
        const double meanEntropy = sum / double(steps);
        const int64_t distinct = std::get<0>(torch::_unique(torch::cat(values))).numel();
        qInfo("%s T %.2f: mean entropy %.3f nats per step, %lld distinct values", qPrintable(file),
              t, meanEntropy, static_cast<long long>(distinct));
        QVERIFY2(meanEntropy < previousEntropy, qPrintable(QString::number(meanEntropy)));
        QVERIFY2(distinct <= previousDistinct, qPrintable(QString::number(distinct)));
        if (t == 1.0) entropyAtOne = meanEntropy;
        previousEntropy = meanEntropy;
        previousDistinct = distinct;
    }
    QVERIFY2(previousEntropy < 0.8 * entropyAtOne, "T = 0.25 should sharpen clearly");
}

void TestTemperatureView::progressiveSamplingIsTheModelsOwn_data() {
    QTest::addColumn<QString>("family");
    for (const char* f : {"vae", "dcgan", "glow", "pixelcnn", "vqvae"})
        QTest::newRow(f) << QString::fromLatin1(f);
}

void TestTemperatureView::progressiveSamplingIsTheModelsOwn() {
    QFETCH(QString, family);
    auto model = makeModel(family.toStdString(), tinyConfig(family.toStdString()));
    model->train(false);
    const bool stepping = model->capabilities().autoregressive;
    int reports = 0;
    int64_t lastDone = 0;
    const torch::Tensor stepped = le::sampleProgressively(
        *model, 3, 0.6, 21, [&](const torch::Tensor& partial, int64_t done, int64_t total) {
            lastDone = done;
            if (partial.defined()) {
                ++reports;
                if (partial.sizes() != torch::IntArrayRef({3, 1, kSize, kSize})) return false;
            }
            return done <= total;
        });
    torch::NoGradGuard noGrad;
    QVERIFY(torch::equal(stepped, model->sample(3, 0.6, 21)));
    if (stepping) {
        QVERIFY2(reports >= 3, qPrintable(QString::number(reports)));  // it fills in, row by row
        // A caller can stop it.
        int calls = 0;
        QVERIFY(!le::sampleProgressively(
                     *model, 3, 0.6, 21,
                     [&](const torch::Tensor&, int64_t, int64_t) { return ++calls < 5; })
                     .defined());
        QCOMPARE(calls, 5);
    } else {
        QCOMPARE(reports, 0);
        QCOMPARE(lastDone, int64_t{0});
    }
}

// ---- the Temperature tab ------------------------------------------------------------------

void TestTemperatureView::sliderResamplesEveryRowWithOneSeed() {
    std::unique_ptr<TemperatureView> view(makeView());
    view->setSweep(false);
    view->countSpin()->setValue(4);
    view->seedSpin()->setValue(17);
    QSignalSpy finished(view.get(), &TemperatureView::gridFinished);
    view->show();
    QVERIFY(QTest::qWaitForWindowExposed(view.get()));
    QVERIFY(finished.wait(60000));
    QCOMPARE(view->gridRows(), 5);
    QCOMPARE(view->gridColumns(), 4);
    QCOMPARE(view->temperature(), 1.0);

    // Every row is its model's own sample for the one seed: rows share the seed.
    std::vector<std::vector<QImage>> atOne;
    for (int r = 0; r < 5; ++r) {
        atOne.push_back(rowImages(*view, r));
        const auto expected = expectedImages(m_catalog[r].path, 4, 1.0, 17);
        for (int c = 0; c < 4; ++c) {
            QVERIFY2(view->cellImage(r, c) == expected[size_t(c)],
                     qPrintable(QStringLiteral("row %1 (%2), sample %3")
                                    .arg(r)
                                    .arg(m_catalog[r].family)
                                    .arg(c)));
            QCOMPARE(view->cellTemperature(r, c), 1.0);
            QVERIFY(view->cellComplete(r, c));
        }
        QVERIFY(
            view->rowText(r).contains(le::temperatureMeaning(m_catalog[r].family).toHtmlEscaped()));
        // The row's swatch is the model's colour in Compare too (same order of models).
        QVERIFY(view->rowText(r).contains(le::seriesColour(r).name()));
    }

    // The slider, by keyboard: Page Down is T − 0.25, and the spin box follows.
    finished.clear();
    view->temperatureSlider()->setFocus();
    QTest::keyClick(view->temperatureSlider(), Qt::Key_PageDown);
    QCOMPARE(view->temperatureSpin()->value(), 0.75);
    QVERIFY(view->isRunning());
    QVERIFY(finished.wait(60000));
    QCOMPARE(finished.last().first().toBool(), false);
    for (int r = 0; r < 5; ++r) {
        QVERIFY2(rowImages(*view, r) != atOne[size_t(r)],
                 qPrintable(m_catalog[r].family + " did not change with T"));
        const auto expected = expectedImages(m_catalog[r].path, 4, 0.75, 17);
        for (int c = 0; c < 4; ++c) {
            QVERIFY(view->cellImage(r, c) == expected[size_t(c)]);
            QCOMPARE(view->cellTemperature(r, c), 0.75);
        }
    }

    // The spin box, typed: back to 1 gives the first grid again, exactly.
    finished.clear();
    QDoubleSpinBox* spin = view->temperatureSpin();
    spin->setFocus();
    spin->selectAll();
    QTest::keyClicks(spin, QStringLiteral("1.00"));
    QTest::keyClick(spin, Qt::Key_Return);
    QTRY_COMPARE(view->temperatureSlider()->value(), 100);
    QTRY_VERIFY_WITH_TIMEOUT(!finished.isEmpty() && !view->isRunning(), 60000);
    for (int r = 0; r < 5; ++r) QVERIFY(rowImages(*view, r) == atOne[size_t(r)]);

    // Another seed moves every row.
    finished.clear();
    QTest::keyClick(view->seedSpin(), Qt::Key_Up);
    QCOMPARE(view->lastRequest().seed, quint64(18));
    QVERIFY(finished.wait(60000));
    for (int r = 0; r < 5; ++r) QVERIFY(rowImages(*view, r) != atOne[size_t(r)]);
}

void TestTemperatureView::fastRowsDoNotWaitForSlowOnes() {
    std::unique_ptr<TemperatureView> view(makeView());
    view->setSweep(false);
    view->countSpin()->setValue(6);
    struct Event {
        int row;
        bool complete;
    };
    std::vector<Event> events;
    connect(view.get(), &TemperatureView::cellShown, this, [&](int row, int column, bool complete) {
        if (column == 0) events.push_back({row, complete});
    });
    QSignalSpy finished(view.get(), &TemperatureView::gridFinished);
    view->show();
    QVERIFY(finished.wait(60000));
    // Rows 0..2 (VAE, DCGAN, Glow) complete before anything of rows 3..4 is shown.
    size_t firstSlow = events.size(), lastFast = 0;
    int partials = 0;
    for (size_t i = 0; i < events.size(); ++i) {
        const bool slow = view->models()[events[i].row].capabilities.autoregressive;
        if (slow) {
            firstSlow = std::min(firstSlow, i);
            if (!events[i].complete) ++partials;
        } else {
            QVERIFY(events[i].complete);
            lastFast = i;
        }
    }
    QVERIFY(lastFast < firstSlow);
    QVERIFY2(partials >= 4, qPrintable(QString::number(partials)));  // slow rows fill in
    for (int r = 0; r < 5; ++r) QVERIFY(view->cellComplete(r, 0));
}

void TestTemperatureView::lastSliderPositionWins() {
    std::unique_ptr<TemperatureView> view(makeView());
    view->setCheckpoints(m_slowCatalog);
    view->setSweep(false);
    view->countSpin()->setValue(8);
    QSignalSpy finished(view.get(), &TemperatureView::gridFinished);
    QSignalSpy shown(view.get(), &TemperatureView::cellShown);
    view->show();
    QVERIFY(finished.wait(60000));
    finished.clear();

    QSlider* slider = view->temperatureSlider();
    slider->setFocus();
    QTest::keyClick(slider, Qt::Key_PageUp);  // 1.25
    // Wait until the PixelCNN row is filling in, then keep moving while it runs.
    shown.clear();
    auto sawPartial = [&] {
        for (const auto& args : shown)
            if (!args.at(2).toBool()) return true;  // a partial cell: the job is mid-way
        return false;
    };
    QTRY_VERIFY_WITH_TIMEOUT(sawPartial(), 60000);
    QVERIFY(view->isRunning());
    QVERIFY(finished.isEmpty());
    for (int i = 0; i < 3; ++i) QTest::keyClick(slider, Qt::Key_PageDown);  // 1.0, 0.75, 0.5
    QTest::keyClick(slider, Qt::Key_Left);                                  // 0.45
    QCOMPARE(view->temperature(), 0.45);
    QVERIFY(finished.wait(60000));
    QTRY_VERIFY(!view->isRunning());
    QCOMPARE(finished.size(), 1);  // the superseded requests end silently
    QCOMPARE(finished.first().first().toBool(), false);
    for (int r = 0; r < 4; ++r) {
        const auto expected =
            expectedImages(m_slowCatalog[r].path, 8, 0.45, view->seedSpin()->value());
        for (int c = 0; c < 8; ++c) {
            QCOMPARE(view->cellTemperature(r, c), 0.45);
            QVERIFY(view->cellComplete(r, c));
            QVERIFY(view->cellImage(r, c) == expected[size_t(c)]);
        }
    }
}

void TestTemperatureView::sweepShowsEachFamilyAtFiveTemperatures() {
    std::unique_ptr<TemperatureView> view(makeView());
    view->setSweep(false);
    view->countSpin()->setValue(4);
    QSignalSpy finished(view.get(), &TemperatureView::gridFinished);
    view->show();
    QVERIFY(finished.wait(60000));
    finished.clear();
    QTest::mouseClick(view->sweepCheck(), Qt::LeftButton, {},
                      QPoint(8, view->sweepCheck()->height() / 2));
    QVERIFY(view->isSweep());
    QVERIFY(!view->temperatureSlider()->isEnabled());
    QVERIFY(finished.wait(120000));
    const std::vector<double> ts = le::sweepTemperatures();
    QCOMPARE(view->gridColumns(), int(ts.size()));
    const quint64 seed = view->seedSpin()->value();
    for (int r = 0; r < 5; ++r) {
        for (int c = 0; c < int(ts.size()); ++c) {
            QCOMPARE(view->cellTemperature(r, c), ts[size_t(c)]);
            QVERIFY(view->cellComplete(r, c));
        }
        // The same samples at each T: the T = 1 column is the grid mode's at T = 1.
        QVERIFY(view->cellImage(r, 3) ==
                expectedTile(m_catalog[r].path, 4, 1.0, seed, view->lastRequest().tileColumns));
        QVERIFY2(view->cellImage(r, 0) != view->cellImage(r, 4),
                 qPrintable(m_catalog[r].family + " looks the same at T = 0.25 and 1.25"));
    }
    // Ctrl+T goes back to the grid.
    finished.clear();
    QTest::keyClick(view.get(), Qt::Key_T, Qt::ControlModifier);
    QVERIFY(!view->isSweep());
    QCOMPARE(view->gridColumns(), 4);
    QVERIFY(finished.wait(60000));
}

void TestTemperatureView::cancelStopsAndMissingFileIsNamed() {
    std::unique_ptr<TemperatureView> view(makeView());
    view->setCheckpoints(m_slowCatalog);
    view->setSweep(true);
    view->countSpin()->setValue(16);
    QSignalSpy finished(view.get(), &TemperatureView::gridFinished);
    view->show();
    QTRY_VERIFY_WITH_TIMEOUT(view->progressBar()->maximum() > 0, 60000);
    QVERIFY(view->cancelButton()->isEnabled());
    QTest::mouseClick(view->cancelButton(), Qt::LeftButton);
    QVERIFY(finished.wait(30000));
    QCOMPARE(finished.first().first().toBool(), true);
    QVERIFY(!view->isRunning());
    QVERIFY(!view->cancelButton()->isEnabled());

    // A checkpoint that vanished after the scan: its row says which file and why.
    const QString gone = m_tmp.filePath("z_gone.lec");
    QVERIFY(QFile::copy(m_catalog[0].path, gone));
    const QVector<le::CatalogEntry> catalog = le::scanCheckpoints({m_tmp.path()});
    QVERIFY(QFile::remove(gone));
    finished.clear();
    view->setSweep(false);
    view->countSpin()->setValue(2);
    view->setCheckpoints(catalog);
    QCOMPARE(view->gridRows(), 6);
    QTRY_VERIFY_WITH_TIMEOUT(!finished.isEmpty() && !view->isRunning(), 60000);
    QVERIFY2(view->rowText(5).contains(QStringLiteral("z_gone.lec")), qPrintable(view->rowText(5)));
    QVERIFY(view->cellImage(0, 0).width() > 0);  // the other rows still drew
}

QTEST_MAIN(TestTemperatureView)
#include "tst_temperature_view.moc"
