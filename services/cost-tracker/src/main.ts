// Placeholder until the cost-tracker service lands; replaced by its bootstrap.
export {};
