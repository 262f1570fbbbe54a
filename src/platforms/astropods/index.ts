export { AstropodsPlatform, deployPhase, ownerOf, previewName, slug, toDeployment, type AstropodsPlatformOptions } from './astropods.js';
export { DEFAULT_ASTROPODS_URL, resolveAstropodsSettings, type AstropodsSettings, type AstropodsSettingsInput } from './config.js';
