#include "core/latent/routes.h"

namespace le {

LatentRoute inversionRoute(const Capabilities& c) {
    if (c.codeGrid) return LatentRoute::CodeGrid;
    if (c.exactEncode && c.decode) return LatentRoute::ExactFlow;
    if (c.inversionByOptimisation) return LatentRoute::Optimisation;
    if (c.encode && c.decode) return LatentRoute::Encoder;
    return LatentRoute::None;
}

LatentRoute interpolationRoute(const Capabilities& c) {
    if (c.codeGrid && c.encode && c.decode) return LatentRoute::EmbeddingSpace;
    if (c.exactEncode && c.decode) return LatentRoute::ExactFlow;
    if (c.encode && c.decode) return LatentRoute::Encoder;
    if (c.inversionByOptimisation) return LatentRoute::Optimisation;
    return LatentRoute::None;
}

QString routeName(LatentRoute route) {
    switch (route) {
        case LatentRoute::None:
            return {};
        case LatentRoute::Encoder:
            return QStringLiteral("encoder");
        case LatentRoute::ExactFlow:
            return QStringLiteral("exact flow");
        case LatentRoute::CodeGrid:
            return QStringLiteral("code grid");
        case LatentRoute::EmbeddingSpace:
            return QStringLiteral("embedding space");
        case LatentRoute::Optimisation:
            return QStringLiteral("optimisation");
    }
    return {};
}

QString interpolationRouteName(LatentRoute route) {
    return route == LatentRoute::Optimisation ? QStringLiteral("inversion") : routeName(route);
}

}  // namespace le
