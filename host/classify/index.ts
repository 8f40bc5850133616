// host/classify: the SQL classifier (kind, flags, routing hint, digest) and the canonical form.
// Pure functions over bytes: no sockets, no plugins. See sdk/ABI.md "Classifier kinds and flags".
export { classify, Classifier, ClassifyResult } from './classify.js';
export { canonical, digest, Canon } from './canonical.js';
export { digestBigInt, fnv1a64, Fnv64 } from './digest.js';
export { Flag, Hint, Kind, flagNames, flagsOf, kindName } from './flags.js';
export { parseHint, type HintTarget } from './hints.js';
export { Kw, keywordName } from './keywords.js';
export { preparedName, preparedText, tableNames, type PreparedText } from './names.js';
