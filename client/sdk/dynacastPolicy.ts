// Dynacast's one rule, apart from the sender so it is a table test (Dynacast applies it).

/** Which of `count` simulcast encodings stay on for a demand of `maxSpatialLayer` (-1: none). */
export function activeEncodings(count: number, maxSpatialLayer: number): boolean[] {
  return Array.from({ length: count }, (_, i) => i <= maxSpatialLayer);
}
