// Placeholder until the collector service lands; replaced by its bootstrap.
export {};
