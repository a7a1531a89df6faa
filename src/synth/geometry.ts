// Synthetic geography of the district: every community gets a cell of a jittered grid laid over Dongcheng's rough
// bounding box, its centroid the cell's jittered centre. Cells are handed out along a serpentine path in the order of
// the community codes (street by street), so the communities of a street lie next to each other. Two communities are
// adjacent when their cells share an edge, or a corner where the shorter diagonal of a 2 × 2 block of cells runs: that
// is the Delaunay triangulation of a jittered grid, the neighbours a Voronoi map of the centroids would give (2 to 8
// each, the graph connected). Deterministic from the seed, with its own random stream so that adding it changed none
// of the district's other data.
import { Rng } from './random.ts';
import type { RegionRow } from './district.ts';

/** Dongcheng District, Beijing, roughly (WGS-84). */
export const DISTRICT_BOUNDS = { west: 116.38, east: 116.45, south: 39.86, north: 39.96 } as const;

const KM_PER_DEGREE_LAT = 111.2;
const KM_PER_DEGREE_LON = KM_PER_DEGREE_LAT * Math.cos((39.91 * Math.PI) / 180);
/** how far (share of a cell) a centroid may move from its cell's centre */
const JITTER = 0.3;

/** Distance in km between two points of the district (equirectangular: fine over a few kilometres). */
export function distanceKm(a: { lon: number; lat: number }, b: { lon: number; lat: number }): number {
  return Math.hypot((a.lon - b.lon) * KM_PER_DEGREE_LON, (a.lat - b.lat) * KM_PER_DEGREE_LAT);
}

/**
 * Sets lon/lat of the communities (sorted by code), of the streets (the mean of theirs) and of the district (the
 * centre of the box), and returns the symmetric adjacency of the communities.
 */
export function placeCommunities(district: RegionRow, streets: RegionRow[], communities: RegionRow[], seed: number): { region_id: number; neighbour_id: number }[] {
  const rng = new Rng(seed, 2);
  const n = communities.length;
  const { west, east, south, north } = DISTRICT_BOUNDS;
  const widthKm = (east - west) * KM_PER_DEGREE_LON;
  const heightKm = (north - south) * KM_PER_DEGREE_LAT;
  const cols = Math.max(1, Math.round(Math.sqrt((n * widthKm) / heightKm)));
  const rows = Math.ceil(n / cols);
  const cellLon = (east - west) / cols;
  const cellLat = (north - south) / rows;
  // cell (row, col) → community index, or -1; rows run north to south, the path turns at each row's end
  const at = Array.from({ length: rows }, () => new Array<number>(cols).fill(-1));
  communities.forEach((c, k) => {
    const row = Math.floor(k / cols);
    const col = row % 2 === 0 ? k % cols : cols - 1 - (k % cols);
    at[row][col] = k;
    c.lon = round6(west + (col + 0.5 + JITTER * (2 * rng.next() - 1)) * cellLon);
    c.lat = round6(north - (row + 0.5 + JITTER * (2 * rng.next() - 1)) * cellLat);
  });
  const pairs = new Set<string>();
  const link = (i: number, j: number) => {
    if (i < 0 || j < 0) return;
    pairs.add(`${Math.min(i, j)},${Math.max(i, j)}`);
  };
  const point = (k: number) => ({ lon: communities[k].lon!, lat: communities[k].lat! });
  for (let r = 0; r < rows; r++) {
    for (let c = 0; c < cols; c++) {
      const here = at[r][c];
      if (c + 1 < cols) link(here, at[r][c + 1]);
      if (r + 1 < rows) link(here, at[r + 1][c]);
      if (r + 1 >= rows || c + 1 >= cols) continue;
      // the 2 × 2 block below-right of this cell: one diagonal, the shorter, or the only one whose ends both exist
      const [a, b, d, e] = [here, at[r][c + 1], at[r + 1][c], at[r + 1][c + 1]]; // a b / d e
      const main = a >= 0 && e >= 0;
      const anti = b >= 0 && d >= 0;
      if (main && anti) {
        if (distanceKm(point(a), point(e)) <= distanceKm(point(b), point(d))) link(a, e);
        else link(b, d);
      } else if (main) link(a, e);
      else if (anti) link(b, d);
    }
  }
  for (const st of streets) {
    const mine = communities.filter((c) => c.parent_id === st.id);
    if (!mine.length) continue;
    st.lon = round6(mine.reduce((s, c) => s + c.lon!, 0) / mine.length);
    st.lat = round6(mine.reduce((s, c) => s + c.lat!, 0) / mine.length);
  }
  district.lon = round6((west + east) / 2);
  district.lat = round6((south + north) / 2);
  const adjacency: { region_id: number; neighbour_id: number }[] = [];
  for (const key of [...pairs].sort()) {
    const [i, j] = key.split(',').map(Number);
    adjacency.push({ region_id: communities[i].id, neighbour_id: communities[j].id }, { region_id: communities[j].id, neighbour_id: communities[i].id });
  }
  return adjacency;
}

const round6 = (x: number) => Math.round(x * 1e6) / 1e6;
