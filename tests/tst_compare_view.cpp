// The Compare tab with tiny untrained models of every family written here, against Fashion-MNIST
// (the Debian package; skipped without it) and a tiny untrained classifier: a sample grid per
// model beside the data's, a table whose numbers apply where the family allows (reconstruction
// with an encoder, bits/dim with an exact likelihood), spectra on a log scale, a verdict, CSV
// and PNG exports, and a cancel that stops a slow PixelCNN between chunks. The verdict itself is
// checked on made-up rows.

#include "core/data/fashion_mnist.h"
#include "core/jobs/compare_job.h"
#include "core/storage/checkpoint.h"
#include "core/storage/model_catalog.h"
#include "tiny_checkpoints.h"
#include "ui/views/compare_view.h"
#include "ui/widgets/image_view.h"
#include "ui/widgets/series_colours.h"

#include <QComboBox>
#include <QFile>
#include <QFileInfo>
#include <QProgressBar>
#include <QPushButton>
#include <QSignalSpy>
#include <QSpinBox>
#include <QStandardPaths>
#include <QTableWidget>
#include <QTemporaryDir>
#include <QtTest>

#include <qcustomplot.h>

#include <cmath>

using le::CompareView;

namespace {

constexpr int kSize = 28;
constexpr int kCount = 16;

bool haveFashionMnist() {
    return QFileInfo::exists(le::defaultFashionMnistDir() + "/t10k-images-idx3-ubyte.gz");
}

le::CompareRow madeUpRow(const QString& family, double sharpness, double highFrequency) {
    le::CompareRow row;
    row.family = family;
    row.title = family;
    row.sharpnessRatio = sharpness;
    row.highFrequencyRatio = highFrequency;
    return row;
}

}  // namespace

class TestCompareView : public QObject {
    Q_OBJECT

private slots:
    void initTestCase();
    void verdictReadsTheRatios_data();
    void verdictReadsTheRatios();
    void everyModelIsMeasuredAgainstTheData();
    void cancelStopsASlowSampler();
    void aFailingModelSaysWhy();

private:
    QTemporaryDir m_tmp;
    QVector<le::CatalogEntry> m_catalog;
    QString m_classifier;
};

void TestCompareView::initTestCase() {
    QStandardPaths::setTestModeEnabled(true);
    QVERIFY(m_tmp.isValid());
    le::test::writeTinyCheckpoints(m_tmp.path(),
                                   {{"a_vae.lec", "vae"},
                                    {"b_dcgan.lec", "dcgan"},
                                    {"c_glow.lec", "glow"},
                                    {"d_pixelcnn.lec", "pixelcnn"},
                                    {"e_vqvae.lec", "vqvae"}},
                                   {1, kSize, kSize}, QStringLiteral("fashion-mnist"));
    m_catalog = le::scanCheckpoints({m_tmp.path()});
    QCOMPARE(int(m_catalog.size()), 5);

    le::ClassifierOptions options;
    options.shape = le::ImageShape{1, kSize, kSize};
    options.hidden = 4;
    options.features = 8;
    torch::manual_seed(3);
    le::Classifier classifier(options);
    le::CheckpointHeader header;
    header.dataset = QStringLiteral("fashion-mnist");
    m_classifier = m_tmp.filePath("classifier.lec");
    le::saveClassifierCheckpoint(m_classifier, classifier, header);
}

void TestCompareView::verdictReadsTheRatios_data() {
    QTest::addColumn<double>("vaeSharpness");
    QTest::addColumn<double>("ganSharpness");
    QTest::addColumn<QString>("expectedVae");
    QTest::addColumn<QString>("expectedGan");
    QTest::newRow("the lecture's picture") << 0.3 << 0.9 << "VAE blurrier than the data: yes"
                                           << "GAN sharper than the VAE: yes";
    QTest::newRow("the other way round") << 1.2 << 0.5 << "VAE blurrier than the data: no"
                                         << "GAN sharper than the VAE: no";
}

void TestCompareView::verdictReadsTheRatios() {
    QFETCH(double, vaeSharpness);
    QFETCH(double, ganSharpness);
    QFETCH(QString, expectedVae);
    QFETCH(QString, expectedGan);
    const std::vector<le::CompareRow> rows = {madeUpRow("data", 1, 1),
                                              madeUpRow("vae", vaeSharpness, vaeSharpness),
                                              madeUpRow("dcgan", ganSharpness, ganSharpness)};
    const QString verdict = le::blurVerdict(rows);
    QVERIFY2(verdict.contains(expectedVae), qPrintable(verdict));
    QVERIFY2(verdict.contains(expectedGan), qPrintable(verdict));
    QVERIFY(verdict.contains(QString::number(vaeSharpness, 'f', 2)));  // in numbers
    QVERIFY(le::blurVerdict({rows[0], rows[1]}).contains(QStringLiteral("No GAN")));
}

void TestCompareView::everyModelIsMeasuredAgainstTheData() {
    if (!haveFashionMnist()) QSKIP("dataset-fashion-mnist is not installed");
    CompareView view;
    view.resize(1180, 720);
    view.show();
    QVERIFY(QTest::qWaitForWindowExposed(&view));
    view.setCheckpoints(m_catalog);
    view.setClassifierPath(m_classifier);
    view.countSpin()->setValue(kCount);
    QCOMPARE(int(view.comparedModels().size()), 5);
    QSignalSpy finished(&view, &CompareView::comparisonFinished);
    QTest::mouseClick(view.compareButton(), Qt::LeftButton);
    QVERIFY(view.isRunning());
    QVERIFY(finished.wait(180000));
    QCOMPARE(finished.first().first().toBool(), false);
    QVERIFY2(view.errorText().isEmpty(), qPrintable(view.errorText()));

    const auto& rows = view.rows();
    QCOMPARE(int(rows.size()), 6);
    QCOMPARE(rows[0].family, QStringLiteral("data"));
    QVERIFY(rows[0].sharpness > 0);
    QVERIFY(!std::isnan(rows[0].classifierFd));  // the floor
    for (int i = 0; i < 6; ++i) {
        QVERIFY2(rows[i].error.isEmpty(), qPrintable(rows[i].error));
        QCOMPARE(int(rows[i].spectrum.size()), kSize / 2 + 1);
        QVERIFY(!view.gridView(i)->image().isNull());
        QVERIFY(!std::isnan(rows[i].classifierFd));
    }
    auto row = [&](const char* family) -> const le::CompareRow& {
        for (const auto& r : rows)
            if (r.family == QLatin1String(family)) return r;
        return rows[0];
    };
    for (const char* family : {"vae", "dcgan", "glow", "pixelcnn", "vqvae"}) {
        QVERIFY(!std::isnan(row(family).sharpnessRatio));
        QVERIFY(!std::isnan(row(family).highFrequencyRatio));
        QVERIFY(row(family).msPerSample > 0);
    }
    // "family default": Glow at the temperature its literature samples at, the rest at 1.
    QCOMPARE(row("glow").temperature, 0.7);
    QCOMPARE(row("vae").temperature, 1.0);
    QVERIFY(
        view.table()->item(3, CompareView::ModelColumn)->text().contains(QStringLiteral("T 0.70")));
    // Numbers only where the family allows them.
    QVERIFY(!std::isnan(row("vae").reconstructionMse));
    QVERIFY(!std::isnan(row("glow").reconstructionMse));
    QVERIFY(!std::isnan(row("vqvae").reconstructionMse));
    QVERIFY(std::isnan(row("dcgan").reconstructionMse));  // no trained encoder
    // The reconstructions' distance where a family encodes (tst_cli checks, on a trained VAE,
    // that it sits below the samples'); Glow's inverse is exact, so its reconstructions score the
    // data's own distance, the floor.
    for (const char* family : {"vae", "vqvae", "glow"}) {
        qInfo("%s: classifier FD %.4g, reconstructions %.4g, floor %.4g", family,
              row(family).classifierFd, row(family).reconstructionFd, rows[0].classifierFd);
        QVERIFY(std::isfinite(row(family).reconstructionFd));
        QVERIFY(row(family).reconstructionFd >= 0);
    }
    QVERIFY(std::abs(row("glow").reconstructionFd - rows[0].classifierFd) <
            1e-2 * rows[0].classifierFd + 1e-6);
    QVERIFY(std::isnan(row("dcgan").reconstructionFd));
    QVERIFY(!std::isnan(row("glow").bitsPerDim));
    QVERIFY(!std::isnan(row("pixelcnn").bitsPerDim));
    QVERIFY(std::isnan(row("vae").bitsPerDim));
    QCOMPARE(view.table()->rowCount(), 6);
    QVERIFY(view.table()->item(1, CompareView::SharpnessColumn)->text().contains(QChar(0xd7)));
    QCOMPARE(view.table()->item(2, CompareView::ReconstructionColumn)->text(),
             QStringLiteral("\u2014"));
    QCOMPARE(view.table()->item(2, CompareView::ReconstructionDistanceColumn)->text(),
             QStringLiteral("\u2014"));
    QCOMPARE(view.spectrumPlot()->graphCount(), 6);
    // Each model in the colour it has in every view (the Temperature tab's rows), the data in
    // black, and no two alike.
    QSet<QRgb> colours;
    for (int r = 0; r < 6; ++r) {
        const QColor colour = view.table()->item(r, CompareView::ModelColumn)->foreground().color();
        QCOMPARE(colour, r == 0 ? QColor(Qt::black) : le::seriesColour(r - 1));
        QCOMPARE(view.spectrumPlot()->graph(r)->pen().color(), colour);
        colours.insert(colour.rgb());
    }
    QCOMPARE(colours.size(), 6);
    for (int i = 0; i < le::seriesColourCount(); ++i) colours.insert(le::seriesColour(i).rgb());
    QCOMPARE(colours.size(), 1 + le::seriesColourCount());  // ten models before one repeats
    QCOMPARE(view.spectrumPlot()->yAxis->scaleType(), QCPAxis::stLogarithmic);
    QVERIFY(view.verdictText().contains(QStringLiteral("VAE blurrier than the data")));
    QVERIFY(view.verdictText().contains(QStringLiteral("GAN sharper than the VAE")));

    const QString csvPath = m_tmp.filePath("compare.csv");
    QVERIFY2(view.exportCsv(csvPath), qPrintable(view.errorText()));
    QFile csv(csvPath);
    QVERIFY(csv.open(QIODevice::ReadOnly));
    const QStringList lines = QString::fromUtf8(csv.readAll()).trimmed().split('\n');
    QCOMPARE(lines.size(), 7);
    QVERIFY(lines[0].startsWith(QStringLiteral("model,checkpoint,temperature,sharpness")));
    QVERIFY(lines[4].contains(QStringLiteral("c_glow.lec")));  // header, data, then by file
    QVERIFY(lines[0].contains(QStringLiteral(",classifier_fd,recon_classifier_fd,")));
    const QString pngPath = m_tmp.filePath("compare.png");
    QVERIFY2(view.exportFigure(pngPath), qPrintable(view.errorText()));
    QVERIFY(!QImage(pngPath).isNull());
    QVERIFY(!view.exportCsv(m_tmp.filePath("no-such-folder/compare.csv")));
    QVERIFY(view.errorText().contains(QStringLiteral("compare.csv")));
}

void TestCompareView::cancelStopsASlowSampler() {
    if (!haveFashionMnist()) QSKIP("dataset-fashion-mnist is not installed");
    QVector<le::CatalogEntry> pixelOnly;
    for (const auto& e : m_catalog)
        if (e.family == QLatin1String("pixelcnn")) pixelOnly << e;
    CompareView view;
    view.show();
    view.setCheckpoints(pixelOnly);
    view.setClassifierPath(m_classifier);
    view.countSpin()->setValue(1024);
    QSignalSpy finished(&view, &CompareView::comparisonFinished);
    view.compare();
    QTRY_VERIFY_WITH_TIMEOUT(view.progressBar()->maximum() > 0 && view.progressBar()->value() > 0,
                             60000);
    QVERIFY(view.cancelButton()->isEnabled());
    QTest::mouseClick(view.cancelButton(), Qt::LeftButton);
    QVERIFY(finished.wait(30000));
    QCOMPARE(finished.first().first().toBool(), true);
    QVERIFY(!view.isRunning());
    QVERIFY(view.compareButton()->isEnabled());
}

// A checkpoint that breaks after it was listed: its row says why, the others are measured.
void TestCompareView::aFailingModelSaysWhy() {
    if (!haveFashionMnist()) QSKIP("dataset-fashion-mnist is not installed");
    const QString broken = m_tmp.filePath("broken_vae.lec");
    QFile::remove(broken);
    QVERIFY(QFile::copy(m_catalog[0].path, broken));
    QVector<le::CatalogEntry> models = {le::catalogEntry(broken), m_catalog[1]};
    QFile file(broken);
    QVERIFY(file.open(QIODevice::ReadWrite));
    QVERIFY(file.resize(file.size() / 2));
    file.close();

    CompareView view;
    view.show();
    view.setCheckpoints(models);
    view.setClassifierPath(m_classifier);
    view.countSpin()->setValue(4);
    QSignalSpy finished(&view, &CompareView::comparisonFinished);
    view.compare();
    QVERIFY(finished.wait(60000));
    const auto& rows = view.rows();
    QCOMPARE(int(rows.size()), 3);
    QVERIFY2(rows[1].error.contains(QStringLiteral("broken_vae.lec")), qPrintable(rows[1].error));
    const QString shown = view.table()->item(1, CompareView::ModelColumn)->text();
    QVERIFY2(shown.contains(QStringLiteral("failed: ")) && shown.contains(rows[1].error),
             qPrintable(shown));
    QVERIFY(view.gridView(1)->overlayText().contains(rows[1].error));
    QVERIFY2(rows[2].error.isEmpty(), qPrintable(rows[2].error));
    QVERIFY(!view.gridView(2)->image().isNull());
}

QTEST_MAIN(TestCompareView)
#include "tst_compare_view.moc"
