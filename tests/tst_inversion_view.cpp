// The Inversion tab with tiny untrained models written here: an image dropped as a file (a
// QMimeData drop) is shown and inverted by every model that can, each by its own route; rows
// show the reconstruction, the error heat map, the VQ-VAE's code grid and the numbers; a long GAN
// optimisation reports progress live and stops on Cancel.

#include "checkpoint.h"
#include "image_io.h"
#include "image_view.h"
#include "inversion_view.h"
#include "model_catalog.h"

#include <QComboBox>
#include <QLabel>
#include <QMimeData>
#include <QProgressBar>
#include <QPushButton>
#include <QSignalSpy>
#include <QSpinBox>
#include <QStandardPaths>
#include <QTemporaryDir>
#include <QUrl>
#include <QtTest>

#include <qcustomplot.h>

#include <opencv2/imgproc.hpp>

using le::InversionView;

namespace {

constexpr int kSize = 28;

QString writeCheckpoint(const QString& path, const std::string& family, le::ModelConfig config) {
    le::writeImageShape(config, le::ImageShape{1, kSize, kSize});
    torch::manual_seed(5);
    auto model = le::ModelRegistry::instance().create(family, config);
    le::CheckpointHeader header;
    header.dataset = QStringLiteral("tiny-set");  // no such dataset: images come from the test
    le::saveCheckpoint(path, *model, header);
    return path;
}

}  // namespace

class TestInversionView : public QObject {
    Q_OBJECT

private slots:
    void initTestCase();
    void droppedFileIsInvertedByEveryCapableModel();
    void ganOptimisationShowsProgressAndCancels();
    void unreadableDropShowsTheFileAndTheReason();

private:
    void drop(QWidget* target, const QString& file);

    QTemporaryDir m_tmp;
    QVector<le::CatalogEntry> m_catalog;
    QString m_imagePath;
};

void TestInversionView::initTestCase() {
    QStandardPaths::setTestModeEnabled(true);
    QVERIFY(m_tmp.isValid());
    le::ModelConfig vae;
    vae.set("hidden", int64_t{8});
    vae.set("latent", int64_t{4});
    writeCheckpoint(m_tmp.filePath("a_vae.lec"), "vae", vae);
    le::ModelConfig gan;
    gan.set("hidden", int64_t{4});
    gan.set("latent", int64_t{4});
    writeCheckpoint(m_tmp.filePath("b_dcgan.lec"), "dcgan", gan);
    le::ModelConfig vq;
    vq.set("hidden", int64_t{8});
    vq.set("codes", int64_t{8});
    vq.set("code_dim", int64_t{4});
    vq.set("prior_hidden", int64_t{8});
    vq.set("prior_layers", int64_t{2});
    writeCheckpoint(m_tmp.filePath("c_vqvae.lec"), "vqvae", vq);
    le::ModelConfig pixel;
    pixel.set("hidden", int64_t{8});
    pixel.set("layers", int64_t{2});
    writeCheckpoint(m_tmp.filePath("d_pixelcnn.lec"), "pixelcnn", pixel);
    m_catalog = le::scanCheckpoints({m_tmp.path()});
    QCOMPARE(int(m_catalog.size()), 4);

    cv::Mat image(40, 40, CV_8UC3, cv::Scalar(30, 60, 90));
    cv::rectangle(image, cv::Rect(10, 10, 20, 20), cv::Scalar(250, 250, 250), cv::FILLED);
    m_imagePath = m_tmp.filePath("square.png");
    le::writeImage(m_imagePath, image);
}

void TestInversionView::drop(QWidget* target, const QString& file) {
    auto* mime = new QMimeData;
    mime->setUrls({QUrl::fromLocalFile(file)});
    const QPoint at = target->rect().center();
    QDragEnterEvent enter(at, Qt::CopyAction, mime, Qt::LeftButton, Qt::NoModifier);
    QApplication::sendEvent(target, &enter);
    QVERIFY(enter.isAccepted());
    QDropEvent dropEvent(at, Qt::CopyAction, mime, Qt::LeftButton, Qt::NoModifier);
    QApplication::sendEvent(target, &dropEvent);
    delete mime;
}

void TestInversionView::droppedFileIsInvertedByEveryCapableModel() {
    InversionView view;
    view.resize(1100, 700);
    view.stepsSpin()->setValue(20);
    view.show();
    QVERIFY(QTest::qWaitForWindowExposed(&view));
    view.setCheckpoints(m_catalog);
    QCOMPARE(int(view.invertingModels().size()), 3);  // the PixelCNN has no latent to invert to
    QVERIFY(view.inputView()->image().isNull());

    QSignalSpy finished(&view, &InversionView::inversionFinished);
    drop(&view, m_imagePath);
    QVERIFY2(view.errorText().isEmpty(), qPrintable(view.errorText()));
    QCOMPARE(view.inputView()->image().size(), QSize(kSize, kSize));
    QVERIFY(view.isRunning());
    QVERIFY(view.cancelButton()->isEnabled());
    QVERIFY(finished.wait(60000));
    QCOMPARE(finished.first().first().toBool(), false);
    QVERIFY(!view.cancelButton()->isEnabled());

    for (int row = 0; row < 3; ++row) {
        const le::InversionOutcome& outcome = view.outcomes()[row];
        QVERIFY2(outcome.error.isEmpty(), qPrintable(outcome.error));
        QCOMPARE(view.reconstructionView(row)->image().size(), QSize(kSize, kSize));
        QCOMPARE(view.errorView(row)->image().format(), QImage::Format_RGB888);
        QVERIFY(view.numbersLabel(row)->text().contains(QStringLiteral("MSE")));
        QVERIFY(view.numbersLabel(row)->text().contains(QStringLiteral(" ms")));
        QVERIFY(outcome.mse > 0);
    }
    QCOMPARE(view.outcomes()[0].method, QStringLiteral("encoder"));
    QCOMPARE(view.outcomes()[1].method, QStringLiteral("optimisation"));
    QCOMPARE(view.outcomes()[1].steps, qint64(20));  // every start in one batch
    QCOMPARE(view.outcomes()[2].method, QStringLiteral("code grid"));
    QVERIFY(view.codeView(2)->isVisible());
    QCOMPARE(view.codeView(2)->image().size(), QSize(kSize, kSize));
    QVERIFY(!view.codeView(0)->isVisible());
    QVERIFY(view.lossPlot()->graph(0)->dataCount() > 0);  // the GAN's live loss
}

void TestInversionView::ganOptimisationShowsProgressAndCancels() {
    InversionView view;
    view.show();
    QVERIFY(QTest::qWaitForWindowExposed(&view));
    view.stepsSpin()->setValue(100000);
    view.setCheckpoints(m_catalog);
    QSignalSpy finished(&view, &InversionView::inversionFinished);
    view.openImageFile(m_imagePath);
    QTRY_VERIFY_WITH_TIMEOUT(view.lossPlot()->graph(0)->dataCount() > 5, 60000);
    QVERIFY(view.progressBar()->maximum() == 100000);
    QTest::mouseClick(view.cancelButton(), Qt::LeftButton);
    QVERIFY(finished.wait(30000));
    QCOMPARE(finished.first().first().toBool(), true);
    QVERIFY(view.outcomes()[1].cancelled);
    QVERIFY(!view.isRunning());
    QVERIFY(view.invertButton()->isEnabled());
}

void TestInversionView::unreadableDropShowsTheFileAndTheReason() {
    InversionView view;
    view.show();
    view.setCheckpoints(m_catalog);
    const QString bad = m_tmp.filePath(QStringLiteral("not_an_image.png"));
    QFile file(bad);
    QVERIFY(file.open(QIODevice::WriteOnly));
    file.write("definitely not a PNG");
    file.close();
    drop(&view, bad);
    QVERIFY2(view.errorText().contains(QStringLiteral("not_an_image.png")),
             qPrintable(view.errorText()));
    QVERIFY(!view.isRunning());
}

QTEST_MAIN(TestInversionView)
#include "tst_inversion_view.moc"
