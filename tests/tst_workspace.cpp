// Workspaces: the file (atomic, checked whole before anything is applied, every kind of damage
// refused with the file named), references that survive a move, exact images, and the whole
// window saved and reopened: the same models, point, images, endpoints and controls.

#include "core/errors.h"
#include "ui/views/interpolation_view.h"
#include "ui/views/inversion_view.h"
#include "ui/views/latent_map_view.h"
#include "ui/main_window.h"
#include "ui/views/temperature_view.h"
#include "core/storage/workspace.h"
#include "ui/workspace_state.h"

#include <QComboBox>
#include <QDoubleSpinBox>
#include <QFile>
#include <QJsonArray>
#include <QJsonDocument>
#include <QMimeData>
#include <QSignalSpy>
#include <QSpinBox>
#include <QStandardPaths>
#include <QTemporaryDir>
#include <QtTest>

#include <opencv2/core.hpp>

using le::MainWindow;
using le::WorkspaceContext;

namespace {

QString shippedModel(const QString& file) {
    return QDir(qEnvironmentVariable("LE_SOURCE_DIR")).filePath("models/pretrained/" + file);
}

void writeBytes(const QString& path, const QByteArray& bytes) {
    QFile file(path);
    QVERIFY(file.open(QIODevice::WriteOnly));
    file.write(bytes);
}

cv::Mat randomImage(int channels, int size, int seed) {
    cv::Mat image(size, size, CV_8UC(channels));
    cv::RNG rng{uint64(seed)};
    rng.fill(image, cv::RNG::UNIFORM, 0, 256);
    return image;
}

bool sameMat(const cv::Mat& a, const cv::Mat& b) {
    return a.size() == b.size() && a.type() == b.type() && cv::norm(a, b, cv::NORM_INF) == 0;
}

}  // namespace

class TestWorkspace : public QObject {
    Q_OBJECT

private slots:
    void initTestCase();

    // The file.
    void savedStateComesBack();
    void damagedFilesAreRefusedByName_data();
    void damagedFilesAreRefusedByName();
    void saveReplacesWholeAndLeavesNoTemporaryFile();
    void saveIntoMissingFolderFailsWithoutAFile();

    // What the views put inside.
    void imagesComeBackBitForBit_data();
    void imagesComeBackBitForBit();
    void undecodableImageIsAWarning();
    void referencesSurviveAMove();
    void missingReferenceIsAWarningNamingIt();

    // The window.
    void windowStateRoundTrips();
    void damagedWorkspaceChangesNothing();
    void missingModelRestoresTheRest();
    void droppedWorkspaceOpens();

private:
    // A window on the copied models; shows the map's first image.
    std::unique_ptr<MainWindow> openWindow();
    QTemporaryDir m_tmp;
    QString m_models;  // copies of three shipped Fashion-MNIST models
};

void TestWorkspace::initTestCase() {
    QStandardPaths::setTestModeEnabled(true);
    QVERIFY(m_tmp.isValid());
    m_models = m_tmp.filePath(QStringLiteral("models"));
    QVERIFY(QDir().mkpath(m_models));
    for (const char* file :
         {"vae_fashion-mnist.lec", "vqvae_fashion-mnist.lec", "pixelcnn_fashion-mnist.lec"}) {
        const QString source = shippedModel(QString::fromLatin1(file));
        if (!QFileInfo::exists(source)) QSKIP("the shipped models are not in LE_SOURCE_DIR");
        QVERIFY(QFile::copy(source, QDir(m_models).filePath(QString::fromLatin1(file))));
    }
}

void TestWorkspace::savedStateComesBack() {
    const QString path = m_tmp.filePath(QStringLiteral("state.lew"));
    const QJsonObject state{{"views", QJsonObject{{"map", QJsonObject{{"x", 1.5}}}}},
                            {"window", QJsonObject{{"view", "compare"}}}};
    le::saveWorkspaceFile(path, state);
    const QJsonObject back = le::loadWorkspaceFile(path);
    QCOMPARE(back.value("format").toString(), QStringLiteral("latent-explorer-workspace"));
    QCOMPARE(back.value("version").toInt(), le::kWorkspaceVersion);
    QVERIFY(!back.value("saved").toString().isEmpty());
    QCOMPARE(back.value("views"), state.value("views"));
    QCOMPARE(back.value("window"), state.value("window"));
}

void TestWorkspace::damagedFilesAreRefusedByName_data() {
    QTest::addColumn<QByteArray>("bytes");
    QTest::addColumn<QString>("problem");
    const QByteArray good =
        QJsonDocument(QJsonObject{{"format", "latent-explorer-workspace"},
                                  {"version", 1},
                                  {"views", QJsonObject{{"map", QJsonObject{{"x", 1}}}}}})
            .toJson();
    QTest::newRow("empty file") << QByteArray() << "is empty";
    QTest::newRow("cut in half") << good.left(good.size() / 2) << "corrupt or truncated";
    QTest::newRow("a PNG") << QByteArray("\x89PNG\r\n\x1a\n\0\0\0\rIHDR", 16)
                           << "corrupt or truncated";
    QTest::newRow("a JSON array") << QByteArray("[1, 2]") << "not a Latent Explorer workspace";
    QTest::newRow("another format") << QByteArray(R"({"format": "something-else", "version": 1})")
                                    << "not a Latent Explorer workspace";
    QTest::newRow("no version") << QByteArray(R"({"format": "latent-explorer-workspace"})")
                                << "no valid format version";
    QTest::newRow("fractional version")
        << QByteArray(R"({"format": "latent-explorer-workspace", "version": 1.5})")
        << "no valid format version";
    QTest::newRow("newer version")
        << QByteArray(R"({"format": "latent-explorer-workspace", "version": 99})")
        << "newer Latent Explorer (workspace version 99";
    QTest::newRow("views not an object")
        << QByteArray(R"({"format": "latent-explorer-workspace", "version": 1, "views": [1]})")
        << "\"views\" is not an object";
}

void TestWorkspace::damagedFilesAreRefusedByName() {
    QFETCH(QByteArray, bytes);
    QFETCH(QString, problem);
    const QString path = m_tmp.filePath(QStringLiteral("damaged.lew"));
    writeBytes(path, bytes);
    try {
        le::loadWorkspaceFile(path);
        QFAIL("a damaged workspace was accepted");
    } catch (const le::DataError& e) {
        const QString message = QString::fromUtf8(e.what());
        QVERIFY2(message.startsWith(path + QStringLiteral(": ")), qPrintable(message));
        QVERIFY2(message.contains(problem), qPrintable(message));
    }
}

void TestWorkspace::saveReplacesWholeAndLeavesNoTemporaryFile() {
    QTemporaryDir dir;
    const QString path = dir.filePath(QStringLiteral("w.lew"));
    QJsonArray big;
    for (int i = 0; i < 5000; ++i) big.append(i);
    le::saveWorkspaceFile(path, {{"views", QJsonObject{{"big", big}}}});
    le::saveWorkspaceFile(path, {{"views", QJsonObject{{"small", 1}}}});
    const QJsonObject back = le::loadWorkspaceFile(path);
    QCOMPARE(back.value("views").toObject().keys(), QStringList{QStringLiteral("small")});
    QCOMPARE(QDir(dir.path()).entryList(QDir::Files), QStringList{QStringLiteral("w.lew")});
}

void TestWorkspace::saveIntoMissingFolderFailsWithoutAFile() {
    const QString path = m_tmp.filePath(QStringLiteral("no/such/folder/w.lew"));
    QVERIFY_THROWS_EXCEPTION(le::DataError, le::saveWorkspaceFile(path, {}));
    QVERIFY(!QFileInfo::exists(path));
}

void TestWorkspace::imagesComeBackBitForBit_data() {
    QTest::addColumn<int>("channels");
    QTest::addColumn<int>("size");
    QTest::newRow("grey 28") << 1 << 28;
    QTest::newRow("RGB 32") << 3 << 32;
    QTest::newRow("RGB 64") << 3 << 64;
}

void TestWorkspace::imagesComeBackBitForBit() {
    QFETCH(int, channels);
    QFETCH(int, size);
    const cv::Mat image = randomImage(channels, size, size);
    // Through the file, as the views' state travels.
    const QString path = m_tmp.filePath(QStringLiteral("image.lew"));
    le::saveWorkspaceFile(
        path, {{"views", QJsonObject{{"image", WorkspaceContext::imageToJson(image)}}}});
    WorkspaceContext context(path);
    const cv::Mat back = context.imageFromJson(
        le::loadWorkspaceFile(path).value("views").toObject().value("image"), "test image");
    QVERIFY(sameMat(back, image));
    QVERIFY(context.warnings().isEmpty());
    QVERIFY(WorkspaceContext::imageToJson(cv::Mat()).isNull());
    QVERIFY(context.imageFromJson(QJsonValue::Null, "none").empty());
    QVERIFY(context.warnings().isEmpty());
}

void TestWorkspace::undecodableImageIsAWarning() {
    WorkspaceContext context(m_tmp.filePath(QStringLiteral("w.lew")));
    QVERIFY(context.imageFromJson(QStringLiteral("bm90IGFuIGltYWdl"), "Anchor mask").empty());
    QVERIFY(context.imageFromJson(QStringLiteral("%%%"), "Endpoint A").empty());
    QCOMPARE(context.warnings().size(), 2);
    QVERIFY(context.warnings()[0].startsWith(QStringLiteral("Anchor mask: ")));
    QVERIFY(context.warnings()[1].startsWith(QStringLiteral("Endpoint A: ")));
}

void TestWorkspace::referencesSurviveAMove() {
    QTemporaryDir before, after, shipped;
    const QString model = QDir(before.path()).filePath(QStringLiteral("models/m.lec"));
    QVERIFY(QDir().mkpath(QFileInfo(model).absolutePath()));
    writeBytes(model, "weights");
    const QJsonValue ref =
        WorkspaceContext(QDir(before.path()).filePath(QStringLiteral("w.lew"))).fileRef(model);

    WorkspaceContext here(QDir(before.path()).filePath(QStringLiteral("w.lew")));
    QCOMPARE(here.resolveFile(ref, "model"), model);

    // The workspace and its models moved together: found by the relative path.
    const QString moved = QDir(after.path()).filePath(QStringLiteral("models/m.lec"));
    QVERIFY(QDir().mkpath(QFileInfo(moved).absolutePath()));
    QVERIFY(QFile::rename(model, moved));
    WorkspaceContext there(QDir(after.path()).filePath(QStringLiteral("w.lew")));
    QCOMPARE(there.resolveFile(ref, "model"), moved);

    // Only the shipped copy is at hand: found by name in the search folders.
    const QString copy = QDir(shipped.path()).filePath(QStringLiteral("m.lec"));
    QVERIFY(QFile::rename(moved, copy));
    WorkspaceContext elsewhere(QDir(after.path()).filePath(QStringLiteral("w.lew")),
                               {shipped.path()});
    QCOMPARE(elsewhere.resolveFile(ref, "model"), copy);
    QVERIFY(here.warnings().isEmpty() && there.warnings().isEmpty() &&
            elsewhere.warnings().isEmpty());
}

void TestWorkspace::missingReferenceIsAWarningNamingIt() {
    WorkspaceContext context(m_tmp.filePath(QStringLiteral("w.lew")));
    const QJsonValue ref = context.fileRef(m_tmp.filePath(QStringLiteral("gone.lec")));
    QVERIFY(context.resolveFile(ref, "Latent map model").isEmpty());
    QCOMPARE(context.warnings().size(), 1);
    QVERIFY2(context.warnings()[0].startsWith(QStringLiteral("Latent map model: ")) &&
                 context.warnings()[0].contains(QStringLiteral("gone.lec")),
             qPrintable(context.warnings()[0]));
    QVERIFY(context.resolveFile(QJsonValue::Null, "nothing").isEmpty());
    QCOMPARE(context.warnings().size(), 1);  // an empty reference is no loss
}

std::unique_ptr<MainWindow> TestWorkspace::openWindow() {
    auto window = std::make_unique<MainWindow>(QStringLiteral("cpu"));
    window->setModelDirectories({m_models});
    window->show();
    return window;
}

void TestWorkspace::windowStateRoundTrips() {
    const QString vae = QDir(m_models).filePath(QStringLiteral("vae_fashion-mnist.lec"));
    const QString path = m_tmp.filePath(QStringLiteral("round.lew"));
    const cv::Mat toInvert = randomImage(1, 28, 1), endA = randomImage(1, 28, 2),
                  endB = randomImage(1, 28, 3);
    QJsonObject saved;
    QVector<float> latent;
    cv::Mat invertedInput;
    {
        auto a = openWindow();
        QSignalSpy shown(a.get(), &MainWindow::firstImageShown);
        a->openCheckpoint(vae);
        QVERIFY2(shown.wait(120000), qPrintable(a->statusText()));
        a->latentMapView()->setCoordinates({1.25f, -0.75f, 0.5f});
        latent = a->latentMapView()->currentLatent();

        le::InversionView* inversion = a->inversionView();
        inversion->stepsSpin()->setValue(7);
        QSignalSpy inverted(inversion, &le::InversionView::inversionFinished);
        inversion->setImage(toInvert);
        QVERIFY(inverted.wait(120000));
        QVERIFY(!inversion->outcomes().isEmpty());
        invertedInput = inversion->outcomes().front().input;

        le::InterpolationView* interpolation = a->interpolationView();
        interpolation->framesSpin()->setValue(5);
        interpolation->pathCombo()->setCurrentIndex(1);
        interpolation->setEndpoint(0, endA);
        interpolation->setEndpoint(1, endB);

        a->temperatureView()->temperatureSpin()->setValue(0.6);
        a->temperatureView()->seedSpin()->setValue(4);
        a->showView(QStringLiteral("interpolation"));

        QSignalSpy savedSpy(a.get(), &MainWindow::workspaceSaved);
        QVERIFY2(a->saveWorkspace(path), qPrintable(a->lastError()));
        QCOMPARE(savedSpy.count(), 1);
        QVERIFY(a->windowTitle().startsWith(QStringLiteral("round.lew")));
        saved = a->workspaceState(WorkspaceContext(path));
        if (interpolation->isRunning()) {
            QSignalSpy done(interpolation, &le::InterpolationView::interpolationFinished);
            QVERIFY(done.wait(120000));
        }
    }

    auto b = openWindow();
    QSignalSpy shown(b.get(), &MainWindow::firstImageShown);
    QSignalSpy inverted(b->inversionView(), &le::InversionView::inversionFinished);
    QSignalSpy interpolated(b->interpolationView(), &le::InterpolationView::interpolationFinished);
    QVERIFY2(b->openWorkspace(path), qPrintable(b->lastError()));
    QVERIFY2(b->workspaceWarnings().isEmpty(), qPrintable(b->workspaceWarnings().join("; ")));
    QCOMPARE(b->currentViewName(), QStringLiteral("interpolation"));
    QVERIFY(b->windowTitle().startsWith(QStringLiteral("round.lew")));
    QVERIFY2(shown.wait(120000), qPrintable(b->statusText()));
    QVERIFY(le::sameFile(b->modelInfo().checkpointPath, vae));

    // The point on the map, and so the latent decoded.
    const QVector<float> coords = b->latentMapView()->coordinates();
    QCOMPARE(coords.mid(0, 3), (QVector<float>{1.25f, -0.75f, 0.5f}));
    QCOMPARE(b->latentMapView()->currentLatent(), latent);

    // The image inverted again, with the same settings.
    QVERIFY(inverted.count() > 0 || inverted.wait(120000));
    QCOMPARE(b->inversionView()->stepsSpin()->value(), 7);
    QVERIFY(!b->inversionView()->outcomes().isEmpty());
    QVERIFY(sameMat(b->inversionView()->outcomes().front().input, invertedInput));

    // Both endpoints exactly, the frames and the path.
    QVERIFY(interpolated.count() > 0 || interpolated.wait(120000));
    QCOMPARE(b->interpolationView()->framesSpin()->value(), 5);
    QCOMPARE(b->interpolationView()->pathCombo()->currentIndex(), 1);
    QVERIFY(!b->interpolationView()->strips().isEmpty());
    QCOMPARE(int(b->interpolationView()->strips().front().frames.size()), 5);

    QCOMPARE(b->temperatureView()->temperature(), 0.6);
    QCOMPARE(b->temperatureView()->seedSpin()->value(), 4);

    // Saved again, every view says what it said before.
    const QJsonObject again = b->workspaceState(WorkspaceContext(path));
    for (const QString& view :
         {QStringLiteral("map"), QStringLiteral("inversion"), QStringLiteral("interpolation"),
          QStringLiteral("autoregressive"), QStringLiteral("compare"),
          QStringLiteral("temperature"), QStringLiteral("training")})
        QVERIFY2(again.value("views").toObject().value(view) ==
                     saved.value("views").toObject().value(view),
                 qPrintable(view));
}

void TestWorkspace::damagedWorkspaceChangesNothing() {
    const QString path = m_tmp.filePath(QStringLiteral("cut.lew"));
    {
        auto a = openWindow();
        QVERIFY(a->saveWorkspace(path));
    }
    QFile file(path);
    QVERIFY(file.open(QIODevice::ReadWrite));
    QVERIFY(file.resize(file.size() / 2));
    file.close();

    auto b = openWindow();
    b->temperatureView()->seedSpin()->setValue(11);
    const QString title = b->windowTitle();
    QSignalSpy errors(b.get(), &MainWindow::errorShown);
    QVERIFY(!b->openWorkspace(path));
    QCOMPARE(errors.count(), 1);
    QVERIFY2(b->lastError().startsWith(path) && b->lastError().contains("truncated"),
             qPrintable(b->lastError()));
    QVERIFY(b->statusText().contains(QStringLiteral("cut.lew")));
    QCOMPARE(b->temperatureView()->seedSpin()->value(), 11);
    QCOMPARE(b->windowTitle(), title);
    QVERIFY(b->workspacePath().isEmpty());
}

void TestWorkspace::missingModelRestoresTheRest() {
    // A workspace whose map model was a copy that has since been deleted.
    QTemporaryDir dir;
    const QString copy = QDir(dir.path()).filePath(QStringLiteral("my_vae.lec"));
    QVERIFY(QFile::copy(QDir(m_models).filePath(QStringLiteral("vae_fashion-mnist.lec")), copy));
    const QString path = QDir(dir.path()).filePath(QStringLiteral("gone.lew"));
    {
        auto a = openWindow();
        QSignalSpy shown(a.get(), &MainWindow::firstImageShown);
        a->openCheckpoint(copy);
        QVERIFY2(shown.wait(120000), qPrintable(a->statusText()));
        a->temperatureView()->seedSpin()->setValue(23);
        a->showView(QStringLiteral("compare"));
        QVERIFY(a->saveWorkspace(path));
    }
    QVERIFY(QFile::remove(copy));

    auto b = openWindow();
    QVERIFY(b->openWorkspace(path));
    QVERIFY(!b->workspaceWarnings().isEmpty());
    QVERIFY2(b->workspaceWarnings().join(' ').contains(QStringLiteral("my_vae.lec")),
             qPrintable(b->workspaceWarnings().join("; ")));
    QVERIFY(b->statusText().contains(QStringLiteral("my_vae.lec")));
    QCOMPARE(b->temperatureView()->seedSpin()->value(), 23);
    QCOMPARE(b->currentViewName(), QStringLiteral("compare"));
    QVERIFY(!b->hasOrAwaitsModel());
}

void TestWorkspace::droppedWorkspaceOpens() {
    const QString path = m_tmp.filePath(QStringLiteral("dropped.lew"));
    {
        auto a = openWindow();
        a->temperatureView()->seedSpin()->setValue(31);
        QVERIFY(a->saveWorkspace(path));
    }
    auto b = openWindow();
    QVERIFY(QTest::qWaitForWindowExposed(b.get()));
    QSignalSpy opened(b.get(), &MainWindow::workspaceOpened);
    QMimeData mime;
    mime.setUrls({QUrl::fromLocalFile(path)});
    const QPoint at = b->rect().center();
    QDragEnterEvent enter(at, Qt::CopyAction, &mime, Qt::LeftButton, Qt::NoModifier);
    QApplication::sendEvent(b.get(), &enter);
    QVERIFY(enter.isAccepted());
    QDropEvent drop(at, Qt::CopyAction, &mime, Qt::LeftButton, Qt::NoModifier);
    QApplication::sendEvent(b.get(), &drop);
    QCOMPARE(opened.count(), 1);
    QCOMPARE(b->temperatureView()->seedSpin()->value(), 31);
}

QTEST_MAIN(TestWorkspace)
#include "tst_workspace.moc"
