// Placeholder until the transformer service lands; replaced by its bootstrap.
export {};
