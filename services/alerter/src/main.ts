// Placeholder until the alerter service lands; replaced by its bootstrap.
export {};
