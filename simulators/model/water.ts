/**
 * Water properties used throughout the model. One volumetric heat capacity for both networks keeps the heat balance
 * exact between the primary meter, the exchanger and the emitters (DOMAIN.md §3 checks it within a few per cent).
 */

/** Volumetric heat capacity of water near 60 °C: 983 kg/m³ × 4.185 kJ/(kg·K) ≈ 4.11 MJ/(m³·K). */
export const WATER_J_PER_M3K = 4.114e6;

/** Heat capacity flow per m³/h: W/K carried by 1 m³/h of water. */
export const W_PER_M3H_K = WATER_J_PER_M3K / 3600;

/** Water column: DOMAIN.md §1, about 0.1 MPa per 10 m of building height. */
export const MPA_PER_M = 0.0098;

/** Storey height used to turn floors into building height (m). */
export const STOREY_M = 2.9;
