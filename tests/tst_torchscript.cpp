// TorchScript models (docs/torchscript.md): the VAE that docs/export_vae.py exports, and the files
// tests/torchscript_fixtures.py writes (one broken each way, a GAN with its own latent sampler, a
// traced module), through loadCheckpoint, the CLI and the latent map. Python builds the fixtures
// at test time, so the test is skipped where no python3 imports torch.

#include "core/errors.h"
#include "core/interactive/engine.h"
#include "core/interactive/worker.h"
#include "core/storage/checkpoint.h"
#include "core/storage/model_cache.h"
#include "core/storage/model_catalog.h"
#include "models/torchscript_model.h"
#include "test_support.h"
#include "ui/views/latent_map_view.h"
#include "ui/widgets/image_view.h"

#include <QDir>
#include <QElapsedTimer>
#include <QFile>
#include <QFileInfo>
#include <QJsonArray>
#include <QJsonDocument>
#include <QJsonObject>
#include <QProcess>
#include <QSignalSpy>
#include <QTemporaryDir>
#include <QtTest>

#include <opencv2/imgcodecs.hpp>

#include <cmath>

using namespace le;

class TestTorchScript : public QObject {
    Q_OBJECT

    using Run = test::ProcessRun;

    static Run run(const QString& program, const QStringList& args, int timeoutMs = 180000) {
        return test::runProcess(program, args, timeoutMs);
    }
    Run cli(const QStringList& args) { return run(QStringLiteral(LE_CLI_PATH), args); }
    QString path(const QString& name) const { return m_dir.filePath(name); }
    static QString source(const QString& relative) {
        return QDir(qEnvironmentVariable("LE_SOURCE_DIR")).filePath(relative);
    }

    // LE_PYTHON, Debian's python3 (python3-torch), then whatever python3 is on PATH.
    static QString pythonWithTorch() {
        QStringList candidates{QStringLiteral("/usr/bin/python3"), QStringLiteral("python3")};
        if (qEnvironmentVariableIsSet("LE_PYTHON"))
            candidates.prepend(qEnvironmentVariable("LE_PYTHON"));
        for (const QString& python : candidates)
            if (run(python, {"-c", "import torch"}, 60000).code == 0) return python;
        return {};
    }

    static QString shapeOf(const torch::Tensor& t) {
        QStringList dims;
        for (int64_t d : t.sizes()) dims << QString::number(d);
        return dims.join('x');
    }

private slots:
    void initTestCase();
    void loadsThroughTheCheckpointPath();
    void headerComesFromTheMetadata();
    void evaluateReportsBitsPerDimension();
    void ownLatentSamplerAndCapabilities();
    void tracedModuleLoads();
    void isNeitherTrainedNorSaved();
    void catalogListsIt();
    void cliCommands();
    void badFiles_data();
    void badFiles();
    void latentMapShowsADecodedImage();

private:
    QTemporaryDir m_dir;
    QString m_python;
    QString m_vae;
};

void TestTorchScript::initTestCase() {
    QVERIFY(m_dir.isValid());
    m_python = pythonWithTorch();
    if (m_python.isEmpty())
        QSKIP(
            "no python3 here imports torch (install python3-torch, or set LE_PYTHON): the "
            "TorchScript fixtures are made by docs/export_vae.py");
    m_vae = path("vae.pt");
    QElapsedTimer timer;
    timer.start();
    const Run exported =
        run(m_python, {source("docs/export_vae.py"), m_vae, "--steps", "60", "--latent", "6"});
    QVERIFY2(exported.code == 0, exported.err.constData());
    const Run fixtures =
        run(m_python, {source("tests/torchscript_fixtures.py"), m_vae, m_dir.path()});
    QVERIFY2(fixtures.code == 0, fixtures.err.constData());
    qInfo("fixtures made by %s in %.1f s", qPrintable(m_python), timer.nsecsElapsed() / 1e9);

    QFile text(path("notes.pt"));
    QVERIFY(text.open(QIODevice::WriteOnly));
    text.write("this is a text file, not a model\n");
    text.close();
    QFile good(m_vae);
    QVERIFY(good.open(QIODevice::ReadOnly));
    QFile truncated(path("truncated.pt"));
    QVERIFY(truncated.open(QIODevice::WriteOnly));
    truncated.write(good.read(good.size() / 2));  // starts as a zip, has no central directory
}

void TestTorchScript::loadsThroughTheCheckpointPath() {
    LoadedCheckpoint loaded = loadCheckpoint(m_vae, torch::kCPU);
    GenerativeModel& model = *loaded.model;
    QCOMPARE(QString::fromStdString(model.family()), QStringLiteral("torchscript-vae"));
    QVERIFY(isTorchScriptFamily(model.family()));
    const Capabilities caps = model.capabilities();
    QVERIFY(caps.decode && caps.encode && caps.sample && caps.likelihoodBound);
    QVERIFY(!caps.exactLikelihood && !caps.autoregressive && !caps.codeGrid &&
            !caps.inversionByOptimisation);
    QCOMPARE(model.imageShape(), (ImageShape{1, 28, 28}));
    QCOMPARE(model.latentDim(), int64_t(6));

    torch::NoGradGuard noGrad;
    const torch::Tensor z = model.samplePrior(5, 1.0, 3);
    QCOMPARE(shapeOf(z), QStringLiteral("5x6"));
    QVERIFY(torch::allclose(z, model.samplePrior(5, 1.0, 3)));  // one seed, one draw
    const torch::Tensor x = model.decode(z);
    QCOMPARE(shapeOf(x), QStringLiteral("5x1x28x28"));
    QVERIFY(torch::isfinite(x).all().item<bool>());
    QVERIFY(x.min().item<double>() >= -1.0 && x.max().item<double>() <= 1.0);
    const torch::Tensor back = model.encode(x);
    QCOMPARE(shapeOf(back), QStringLiteral("5x6"));
    QCOMPARE(shapeOf(model.sample(3, 0.7, 1)), QStringLiteral("3x1x28x28"));

    // The base class's checks hold: a latent of the wrong size is refused, not run.
    QVERIFY_THROWS_EXCEPTION(ModelError, model.decode(torch::zeros({1, 5})));
    QVERIFY_THROWS_EXCEPTION(ModelError, model.encode(torch::zeros({1, 3, 28, 28})));

    // Through the per-thread cache every job uses: one load, the same model again.
    ModelCache cache;
    const auto first = cache.get(m_vae, QStringLiteral("cpu"));
    QCOMPARE(cache.get(m_vae, QStringLiteral("cpu")).get(), first.get());
    QCOMPARE(first->header.family, QStringLiteral("torchscript-vae"));
}

void TestTorchScript::headerComesFromTheMetadata() {
    const CheckpointHeader h = readCheckpointHeader(m_vae);
    QCOMPARE(h.family, QStringLiteral("torchscript-vae"));
    QCOMPARE(h.dataset, QStringLiteral("fashion-mnist"));
    QCOMPARE(h.shape, (ImageShape{1, 28, 28}));
    QCOMPARE(h.steps, qint64(60));
    QCOMPARE(h.config.getString("kind", ""), std::string("vae"));
    QCOMPARE(h.config.getInt("latent", 0), int64_t(6));
    QCOMPARE(h.config.getString("methods", ""), std::string("decode,encode,elbo"));
    QCOMPARE(h.extra.value("source").toString(), QStringLiteral("torchscript"));
    QVERIFY(!h.created.isEmpty());
    // The views' family titles and kinds come from the kind, not the registry.
    QCOMPARE(familyTitle(h.family), QStringLiteral("TorchScript VAE"));
    QCOMPARE(familyKind(h.family), ModelKind::VariationalAutoencoder);
    QCOMPARE(likelihoodBoundName(h.family), QStringLiteral("ELBO"));
    QVERIFY(!ModelRegistry::instance().has(h.family.toStdString()));  // not a trainable family
}

void TestTorchScript::evaluateReportsBitsPerDimension() {
    LoadedCheckpoint loaded = loadCheckpoint(m_vae, torch::kCPU);
    const torch::Tensor x = loaded.model->sample(8, 1.0, 2).clamp(-1, 1);
    const Metrics m = loaded.model->evaluate(x);
    QVERIFY(m.count("loss") && m.count("bpd") && m.count("recon_mse"));
    QVERIFY(!m.count("nll"));  // an ELBO is a bound, not the likelihood
    QVERIFY(std::isfinite(m.at("bpd")) && m.at("bpd") > 0 && m.at("bpd") < 16);
    QCOMPARE(m.at("bpd"), m.at("loss") / (784 * std::log(2.0)));
    QVERIFY(m.at("recon_mse") >= 0 && m.at("recon_mse") < 4);
}

void TestTorchScript::ownLatentSamplerAndCapabilities() {
    LoadedCheckpoint loaded = loadCheckpoint(path("gan.pt"), torch::kCPU);
    GenerativeModel& model = *loaded.model;
    QCOMPARE(QString::fromStdString(model.family()), QStringLiteral("torchscript-gan"));
    QCOMPARE(familyKind(loaded.header.family), ModelKind::Adversarial);
    const Capabilities caps = model.capabilities();
    QVERIFY(caps.decode && caps.sample);
    QVERIFY(!caps.encode && !caps.exactLikelihood && !caps.likelihoodBound);
    // sample_latent(n, T, seed) is the fixture's full(T/2 + seed % 7): the module's sampler, not
    // the app's N(0, T²I).
    const torch::Tensor z = model.samplePrior(3, 0.5, 9);
    QCOMPARE(shapeOf(z), QStringLiteral("3x4"));
    QVERIFY(torch::allclose(z, torch::full({3, 4}, 0.25 + 2.0)));
    const Metrics m = model.evaluate(torch::zeros({2, 1, 28, 28}));
    QVERIFY(m.count("loss") && std::isnan(m.at("loss")));  // a decoder alone measures nothing
    QVERIFY_THROWS_EXCEPTION(ModelError, model.encode(torch::zeros({1, 1, 28, 28})));
}

void TestTorchScript::tracedModuleLoads() {
    LoadedCheckpoint loaded = loadCheckpoint(path("traced.pt"), torch::kCPU);
    QCOMPARE(loaded.header.family, QStringLiteral("torchscript-other"));
    QVERIFY(loaded.model->capabilities().encode);
    torch::NoGradGuard noGrad;
    QCOMPARE(shapeOf(loaded.model->decode(torch::zeros({2, 4}))), QStringLiteral("2x1x28x28"));
}

void TestTorchScript::isNeitherTrainedNorSaved() {
    LoadedCheckpoint loaded = loadCheckpoint(m_vae, torch::kCPU);
    try {
        loaded.model->trainStep(torch::zeros({2, 1, 28, 28}));
        QFAIL("trainStep ran");
    } catch (const ModelError& e) {
        QVERIFY2(QString(e.what()).contains("not trained here"), e.what());
    }
    const QString out = path("copy.lec");
    try {
        saveCheckpoint(out, *loaded.model, loaded.header);
        QFAIL("a TorchScript model was saved as a .lec");
    } catch (const DataError& e) {
        QVERIFY2(
            QString(e.what()).contains("TorchScript") && QString(e.what()).contains("copy.lec"),
            e.what());
    }
    QVERIFY(!QFileInfo::exists(out));
    QVERIFY_THROWS_EXCEPTION(DataError, loadCheckpoint(m_vae, torch::kCPU, QStringLiteral("vae")));
}

void TestTorchScript::catalogListsIt() {
    QStringList skipped;
    const QVector<CatalogEntry> entries =
        scanCheckpoints({}, {m_vae, path("gan.pt"), path("no_decode.pt")}, &skipped);
    QCOMPARE(entries.size(), 2);
    QCOMPARE(entries[0].family, QStringLiteral("torchscript-vae"));
    QVERIFY(entries[0].capabilities.encode && entries[0].capabilities.likelihoodBound);
    QVERIFY(!entries[1].capabilities.encode && entries[1].capabilities.sample);
    QCOMPARE(entries[0].title(), QStringLiteral("TorchScript VAE \u00b7 fashion-mnist"));
    QCOMPARE(skipped.size(), 1);
    QVERIFY2(skipped[0].contains("no_decode.pt") && skipped[0].contains("decode"),
             qPrintable(skipped[0]));

    // A folder scan (the user's checkpoints folder) finds TorchScript files beside .lec ones,
    // and names each file it could not read.
    const QString folder = path("folder");
    QVERIFY(QDir().mkpath(folder));
    QVERIFY(QFile::copy(m_vae, folder + "/mine.pt"));
    QVERIFY(QFile::copy(path("notes.pt"), folder + "/notes.pt"));
    QVERIFY(QFile::copy(m_vae, folder + "/readme.txt"));
    skipped.clear();
    const QVector<CatalogEntry> scanned = scanCheckpoints({folder}, {}, &skipped);
    QCOMPARE(scanned.size(), 1);
    QCOMPARE(QFileInfo(scanned[0].path).fileName(), QStringLiteral("mine.pt"));
    QCOMPARE(scanned[0].family, QStringLiteral("torchscript-vae"));
    QCOMPARE(skipped.size(), 1);
    QVERIFY2(skipped[0].startsWith("notes.pt"), qPrintable(skipped[0]));
}

void TestTorchScript::cliCommands() {
    QElapsedTimer timer;
    timer.start();
    Run r = cli({"info", "--checkpoint", m_vae, "--json"});
    QVERIFY2(r.code == 0, r.err.constData());
    const QJsonObject info = QJsonDocument::fromJson(r.out).object();
    QCOMPARE(info["family"].toString(), QStringLiteral("torchscript-vae"));
    QCOMPARE(info["config"].toObject()["methods"].toString(), QStringLiteral("decode,encode,elbo"));

    r = cli({"sample", "--checkpoint", m_vae, "--count", "6", "--out", path("samples.png")});
    QVERIFY2(r.code == 0, r.err.constData());
    QVERIFY(!cv::imread(path("samples.png").toStdString()).empty());

    r = cli({"decode", "--checkpoint", m_vae, "--latent", "0,0.5,-0.5,1,0,0", "--out",
             path("decoded.png")});
    QVERIFY2(r.code == 0, r.err.constData());
    const cv::Mat decoded = cv::imread(path("decoded.png").toStdString(), cv::IMREAD_UNCHANGED);
    QCOMPARE(decoded.rows, 28);
    QCOMPARE(decoded.cols, 28);

    r = cli({"encode", "--checkpoint", m_vae, "--image", path("decoded.png"), "--json"});
    QVERIFY2(r.code == 0, r.err.constData());
    QCOMPARE(QJsonDocument::fromJson(r.out).object()["latent"].toArray().size(), 6);

    r = cli({"decode", "--checkpoint", m_vae, "--latent", "0,1", "--out", path("x.png")});
    QCOMPARE(r.code, 3);  // two values for a latent of six
    QVERIFY2(r.err.contains("needs 6"), r.err.constData());

    r = cli({"interpolate", "--checkpoint", m_vae, "--from", path("decoded.png"), "--to",
             path("samples.png"), "--frames", "5", "--out", path("strip.png"), "--json"});
    QVERIFY2(r.code == 0, r.err.constData());
    QCOMPARE(QJsonDocument::fromJson(r.out).object()["frames"].toInt(), 5);
    const cv::Mat strip = cv::imread(path("strip.png").toStdString());
    QVERIFY(strip.cols >= 5 * 28 && strip.cols < 5 * 40 && strip.rows < 40);  // one row of 5

    r = cli({"eval", "--checkpoint", m_vae, "--images", "200", "--samples", "100", "--held-out",
             "100", "--json"});
    QVERIFY2(r.code == 0, r.err.constData());
    const QJsonObject eval = QJsonDocument::fromJson(r.out).object();
    const QJsonObject metrics = eval["metrics"].toObject();
    QCOMPARE(eval["family"].toString(), QStringLiteral("torchscript-vae"));
    QCOMPARE(eval["dataset"].toString(), QStringLiteral("fashion-mnist"));
    for (const char* key : {"loss", "bpd", "recon_mse", "sample_sharpness"})
        QVERIFY2(metrics[key].isDouble(), key);
    // 60 steps on 4096 images: far from a good model, far better than noise (8 bits).
    QVERIFY2(metrics["bpd"].toDouble() > 0.5 && metrics["bpd"].toDouble() < 8,
             qPrintable(QString::number(metrics["bpd"].toDouble())));

    r = cli({"sample", "--checkpoint", path("gan.pt"), "--count", "4", "--out", path("g.png")});
    QVERIFY2(r.code == 0, r.err.constData());
    r = cli({"encode", "--checkpoint", path("gan.pt"), "--image", path("decoded.png")});
    QCOMPARE(r.code, 3);
    QVERIFY2(r.err.contains("cannot encode"), r.err.constData());
    qInfo("seven CLI commands in %.1f s", timer.nsecsElapsed() / 1e9);
}

void TestTorchScript::badFiles_data() {
    QTest::addColumn<QString>("file");
    QTest::addColumn<QString>("problem");
    QTest::newRow("text file") << "notes.pt"
                               << "not a readable TorchScript file";
    QTest::newRow("random zip") << "random.zip"
                                << "not a TorchScript module";
    QTest::newRow("torch.save, not torch.jit.save") << "state_dict.pt"
                                                    << "torch.jit.save";
    QTest::newRow("truncated copy") << "truncated.pt"
                                    << "not a readable TorchScript file";
    QTest::newRow("newer torch") << "newer_torch.pt"
                                 << "newer PyTorch";
    QTest::newRow("no metadata") << "no_metadata.pt"
                                 << "no latent_explorer.json metadata";
    QTest::newRow("metadata not JSON") << "bad_json.pt"
                                       << "not a JSON object";
    QTest::newRow("no latent_size") << "no_latent_size.pt"
                                    << "latent_size";
    QTest::newRow("unknown kind") << "bad_kind.pt"
                                  << "kind 'diffusion'";
    QTest::newRow("no decode") << "no_decode.pt"
                               << "has no decode method";
    QTest::newRow("decode's shape") << "wrong_shape.pt"
                                    << "decode returned a tensor of shape";
    QTest::newRow("decode's range") << "out_of_range.pt"
                                    << "outside the metadata's value_range";
    QTest::newRow("missing") << "nowhere.pt"
                             << "does not exist";
}

// Every bad file is a DataError naming it, in the library and as the CLI's exit 3: never a crash.
void TestTorchScript::badFiles() {
    QFETCH(QString, file);
    QFETCH(QString, problem);
    try {
        loadCheckpoint(path(file), torch::kCPU);
        QFAIL("loaded");
    } catch (const DataError& e) {
        const QString message = QString::fromUtf8(e.what());
        QVERIFY2(message.startsWith(file + ": ") && message.contains(problem), e.what());
    }
    for (const QString& command : {QStringLiteral("info"), QStringLiteral("sample")}) {
        QStringList args{command, "--checkpoint", path(file)};
        if (command == "sample") args << "--out" << path("never.png");
        const Run r = cli(args);
        QCOMPARE(r.code, 3);
        QVERIFY2(r.err.contains(file.toUtf8()) && r.err.contains(problem.toUtf8()),
                 r.err.constData());
    }
    QVERIFY(!QFileInfo::exists(path("never.png")));
}

// The latent map as MainWindow wires it: the worker loads the file, encodes the test split, and
// the view shows a decoded image.
void TestTorchScript::latentMapShowsADecodedImage() {
    LatentMapView view;
    view.resize(1000, 600);
    view.show();
    QVERIFY(QTest::qWaitForWindowExposed(&view));
    WorkerThread thread;
    InteractiveWorker* worker = thread.worker();
    connect(&view, &LatentMapView::decodeRequested, &view,
            [worker](quint64 id, const QVector<float>& z) { worker->requestDecode(id, z); });
    connect(worker, &InteractiveWorker::modelLoaded, &view,
            [&view](const ModelInfo& info, const LatentMap& map) { view.setModel(info, map); });
    connect(worker, &InteractiveWorker::decoded, &view,
            [&view](const DecodeResult& r) { view.showResult(r); });
    QSignalSpy failed(worker, &InteractiveWorker::failed);
    QSignalSpy loaded(worker, &InteractiveWorker::modelLoaded);
    worker->requestLoad(m_vae, QStringLiteral("cpu"));
    QVERIFY(loaded.wait(120000));
    QCOMPARE(failed.count(), 0);
    const ModelInfo info = loaded.first().first().value<ModelInfo>();
    QCOMPARE(info.family, QStringLiteral("torchscript-vae"));
    QCOMPARE(info.latentDim, int64_t(6));
    QVERIFY(view.hasModel());
    QTRY_VERIFY_WITH_TIMEOUT(view.shownResultId() > 0, 30000);
    const QImage image = view.imageView()->image();
    QVERIFY(!image.isNull());
    QCOMPARE(image.size(), QSize(28, 28));
    QVERIFY(view.errorText().isEmpty());
}

QTEST_MAIN(TestTorchScript)
#include "tst_torchscript.moc"
