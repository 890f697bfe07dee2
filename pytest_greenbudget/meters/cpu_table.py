"""CPU models the ``estimate`` meter knows: TDP, cores and logical CPUs of ONE package.

Plain tuples so that importing this module costs a fraction of a millisecond (the estimate
meter is built at every session start where RAPL is not readable). The first field is
the lookup key, precomputed with :func:`pytest_greenbudget.meters.estimate.model_key` (a
test checks that it matches the name), so no regular expression runs over the table.

Sources (the last field):

- ``V``: the vendor's public specification (Intel ARK "Processor Base Power"/TDP, AMD's
  product pages "Default TDP"), cores and threads per package.
- ``C``: a cloud provider's custom SKU without a public datasheet: cores and threads as
  the provider documents them (largest instance of the family / lscpu on it), TDP of the
  nearest retail sibling of the same generation and core count.
- ``E``: no published TDP (Apple silicon, Arm server parts): package power under an
  all-core load from public reviews and vendor talks, rounded; an order of magnitude.

Fields: key, name as the OS usually reports it, TDP watts, cores, logical CPUs, source.
"""

from __future__ import annotations

TABLE_VERSION = "2026-12"

CPUS: tuple[tuple[str, str, float, int, int, str], ...] = (
    # --- AMD EPYC, cloud and server ------------------------------------------------
    ("epyc 7763", "AMD EPYC 7763 64-Core Processor", 280, 64, 128, "V"),
    ("epyc 7b13", "AMD EPYC 7B13", 280, 64, 128, "C"),  # GCP n2d/c2d: 7763's sibling
    ("epyc 7r13", "AMD EPYC 7R13 Processor", 280, 48, 96, "C"),  # AWS c6a/m6a
    ("epyc 7713", "AMD EPYC 7713 64-Core Processor", 225, 64, 128, "V"),
    ("epyc 7543", "AMD EPYC 7543 32-Core Processor", 225, 32, 64, "V"),
    ("epyc 7452", "AMD EPYC 7452 32-Core Processor", 155, 32, 64, "V"),
    ("epyc 7502", "AMD EPYC 7502 32-Core Processor", 180, 32, 64, "V"),
    ("epyc 7742", "AMD EPYC 7742 64-Core Processor", 225, 64, 128, "V"),
    ("epyc 7v12", "AMD EPYC 7V12 64-Core Processor", 240, 64, 128, "C"),  # Azure HBv2/Dav4
    ("epyc 7v13", "AMD EPYC 7V13 64-Core Processor", 280, 64, 128, "C"),  # Azure Dav5
    ("epyc 7571", "AMD EPYC 7571", 180, 32, 64, "C"),  # AWS m5a/r5a (Naples)
    ("epyc 7551", "AMD EPYC 7551 32-Core Processor", 180, 32, 64, "V"),
    ("epyc 9r14", "AMD EPYC 9R14", 360, 96, 192, "C"),  # AWS c7a/m7a (Genoa)
    ("epyc 9b14", "AMD EPYC 9B14", 360, 96, 192, "C"),  # GCP c3d (Genoa)
    ("epyc 9v74", "AMD EPYC 9V74 80-Core Processor", 400, 80, 160, "C"),  # Azure Dasv6
    ("epyc 9654", "AMD EPYC 9654 96-Core Processor", 360, 96, 192, "V"),
    ("epyc 9554", "AMD EPYC 9554 64-Core Processor", 360, 64, 128, "V"),
    ("epyc 9454", "AMD EPYC 9454 48-Core Processor", 290, 48, 96, "V"),
    ("epyc 9354", "AMD EPYC 9354 32-Core Processor", 280, 32, 64, "V"),
    ("epyc 9754", "AMD EPYC 9754 128-Core Processor", 360, 128, 256, "V"),
    ("epyc 9r45", "AMD EPYC 9R45", 500, 96, 192, "C"),  # AWS m8a (Turin)
    ("epyc 9b45", "AMD EPYC 9B45", 500, 128, 256, "C"),  # GCP c4d (Turin)
    # --- Intel Xeon, cloud and server ----------------------------------------------
    ("xeon 8171m", "Intel(R) Xeon(R) Platinum 8171M CPU @ 2.60GHz", 165, 26, 52, "C"),
    ("xeon 8272cl", "Intel(R) Xeon(R) Platinum 8272CL CPU @ 2.60GHz", 195, 26, 52, "C"),
    ("xeon 8370c", "Intel(R) Xeon(R) Platinum 8370C CPU @ 2.80GHz", 270, 32, 64, "C"),
    ("xeon 8375c", "Intel(R) Xeon(R) Platinum 8375C CPU @ 2.90GHz", 300, 32, 64, "C"),
    ("xeon 8480+", "Intel(R) Xeon(R) Platinum 8480+", 350, 56, 112, "V"),
    ("xeon 8480c", "Intel(R) Xeon(R) Platinum 8480C", 350, 56, 112, "C"),
    ("xeon 8488c", "Intel(R) Xeon(R) Platinum 8488C", 350, 48, 96, "C"),  # AWS m7i
    ("xeon 8259cl", "Intel(R) Xeon(R) Platinum 8259CL CPU @ 2.50GHz", 210, 24, 48, "C"),
    ("xeon 8175m", "Intel(R) Xeon(R) Platinum 8175M CPU @ 2.50GHz", 240, 24, 48, "C"),
    ("xeon 8124m", "Intel(R) Xeon(R) Platinum 8124M CPU @ 3.00GHz", 240, 18, 36, "C"),
    ("xeon 8275cl", "Intel(R) Xeon(R) Platinum 8275CL CPU @ 3.00GHz", 240, 24, 48, "C"),
    ("xeon 8252c", "Intel(R) Xeon(R) Platinum 8252C CPU @ 3.80GHz", 240, 12, 24, "C"),
    ("xeon 8358", "Intel(R) Xeon(R) Platinum 8358 CPU @ 2.60GHz", 250, 32, 64, "V"),
    ("xeon 8380", "Intel(R) Xeon(R) Platinum 8380 CPU @ 2.30GHz", 270, 40, 80, "V"),
    ("xeon 8481c", "Intel(R) Xeon(R) Platinum 8481C CPU @ 2.70GHz", 350, 56, 112, "C"),  # GCP c3
    ("xeon 8473c", "Intel(R) Xeon(R) Platinum 8473C", 350, 52, 104, "C"),  # Azure Dv6
    ("xeon 8272l", "Intel(R) Xeon(R) Platinum 8272L CPU @ 2.60GHz", 195, 26, 52, "C"),
    ("xeon 8168", "Intel(R) Xeon(R) Platinum 8168 CPU @ 2.70GHz", 205, 24, 48, "V"),
    ("xeon 8280", "Intel(R) Xeon(R) Platinum 8280 CPU @ 2.70GHz", 205, 28, 56, "V"),
    ("xeon 8592+", "Intel(R) Xeon(R) Platinum 8592+", 350, 64, 128, "V"),
    ("xeon 6248r", "Intel(R) Xeon(R) Gold 6248R CPU @ 3.00GHz", 205, 24, 48, "V"),
    ("xeon 6148", "Intel(R) Xeon(R) Gold 6148 CPU @ 2.40GHz", 150, 20, 40, "V"),
    ("xeon 6230", "Intel(R) Xeon(R) Gold 6230 CPU @ 2.10GHz", 125, 20, 40, "V"),
    ("xeon 6268cl", "Intel(R) Xeon(R) Platinum 6268CL CPU @ 2.80GHz", 205, 24, 48, "C"),
    ("xeon e5-2673 v3", "Intel(R) Xeon(R) CPU E5-2673 v3 @ 2.40GHz", 110, 12, 24, "C"),
    ("xeon e5-2673 v4", "Intel(R) Xeon(R) CPU E5-2673 v4 @ 2.30GHz", 135, 20, 40, "C"),
    ("xeon e5-2686 v4", "Intel(R) Xeon(R) CPU E5-2686 v4 @ 2.30GHz", 145, 18, 36, "C"),
    ("xeon e5-2676 v3", "Intel(R) Xeon(R) CPU E5-2676 v3 @ 2.40GHz", 120, 12, 24, "C"),
    ("xeon e5-2666 v3", "Intel(R) Xeon(R) CPU E5-2666 v3 @ 2.90GHz", 135, 10, 20, "C"),
    ("xeon e5-2690 v4", "Intel(R) Xeon(R) CPU E5-2690 v4 @ 2.60GHz", 135, 14, 28, "V"),
    ("xeon e-2288g", "Intel(R) Xeon(R) E-2288G CPU @ 3.70GHz", 95, 8, 16, "V"),
    # --- Arm servers (the kernel reports no model name: see estimate.arm_model) -------
    ("neoverse-n1", "ARM Neoverse-N1", 110, 64, 64, "E"),  # Graviton2, Azure Dpsv5 (Altra)
    ("neoverse-v1", "ARM Neoverse-V1", 100, 64, 64, "E"),  # Graviton3
    ("neoverse-v2", "ARM Neoverse-V2", 190, 96, 96, "E"),  # Graviton4, Google Axion
    ("neoverse-n2", "ARM Neoverse-N2", 150, 64, 64, "E"),  # Azure Cobalt 100
    ("altra q80-30", "Ampere Altra Q80-30", 210, 80, 80, "V"),
    ("altra", "Ampere Altra", 210, 80, 80, "V"),
    ("altra max m128-30", "Ampere Altra Max M128-30", 250, 128, 128, "V"),
    ("ampereone", "AmpereOne", 350, 192, 192, "V"),
    # --- Apple silicon (macOS reports "Apple M1") -------------------------------------
    ("apple m1", "Apple M1", 20, 8, 8, "E"),
    ("apple m1 pro", "Apple M1 Pro", 30, 10, 10, "E"),
    ("apple m1 max", "Apple M1 Max", 30, 10, 10, "E"),
    ("apple m2", "Apple M2", 20, 8, 8, "E"),
    ("apple m2 pro", "Apple M2 Pro", 35, 12, 12, "E"),
    ("apple m2 max", "Apple M2 Max", 35, 12, 12, "E"),
    ("apple m3", "Apple M3", 20, 8, 8, "E"),
    ("apple m3 pro", "Apple M3 Pro", 30, 12, 12, "E"),
    ("apple m3 max", "Apple M3 Max", 50, 16, 16, "E"),
    ("apple m4", "Apple M4", 25, 10, 10, "E"),
    # --- Intel Core, 8th-9th gen (still common) ---------------------------------------
    ("core i7-8700", "Intel(R) Core(TM) i7-8700 CPU @ 3.20GHz", 65, 6, 12, "V"),
    ("core i7-8550u", "Intel(R) Core(TM) i7-8550U CPU @ 1.80GHz", 15, 4, 8, "V"),
    ("core i5-8250u", "Intel(R) Core(TM) i5-8250U CPU @ 1.60GHz", 15, 4, 8, "V"),
    ("core i7-8750h", "Intel(R) Core(TM) i7-8750H CPU @ 2.20GHz", 45, 6, 12, "V"),
    ("core i7-9700k", "Intel(R) Core(TM) i7-9700K CPU @ 3.60GHz", 95, 8, 8, "V"),
    ("core i9-9900k", "Intel(R) Core(TM) i9-9900K CPU @ 3.60GHz", 95, 8, 16, "V"),
    ("core i7-9750h", "Intel(R) Core(TM) i7-9750H CPU @ 2.60GHz", 45, 6, 12, "V"),
    # --- Intel Core, 10th gen ---------------------------------------------------------
    ("core i5-10400", "Intel(R) Core(TM) i5-10400 CPU @ 2.90GHz", 65, 6, 12, "V"),
    ("core i5-10210u", "Intel(R) Core(TM) i5-10210U CPU @ 1.60GHz", 15, 4, 8, "V"),
    ("core i7-10510u", "Intel(R) Core(TM) i7-10510U CPU @ 1.80GHz", 15, 4, 8, "V"),
    ("core i7-10610u", "Intel(R) Core(TM) i7-10610U CPU @ 1.80GHz", 15, 4, 8, "V"),
    ("core i7-10700", "Intel(R) Core(TM) i7-10700 CPU @ 2.90GHz", 65, 8, 16, "V"),
    ("core i7-10700k", "Intel(R) Core(TM) i7-10700K CPU @ 3.80GHz", 125, 8, 16, "V"),
    ("core i7-10750h", "Intel(R) Core(TM) i7-10750H CPU @ 2.60GHz", 45, 6, 12, "V"),
    ("core i7-1065g7", "Intel(R) Core(TM) i7-1065G7 CPU @ 1.30GHz", 15, 4, 8, "V"),
    ("core i9-10900k", "Intel(R) Core(TM) i9-10900K CPU @ 3.70GHz", 125, 10, 20, "V"),
    ("core i9-10900", "Intel(R) Core(TM) i9-10900 CPU @ 2.80GHz", 65, 10, 20, "V"),
    # --- Intel Core, 11th gen ---------------------------------------------------------
    ("core i5-1135g7", "11th Gen Intel(R) Core(TM) i5-1135G7 @ 2.40GHz", 28, 4, 8, "V"),
    ("core i5-1145g7", "11th Gen Intel(R) Core(TM) i5-1145G7 @ 2.60GHz", 28, 4, 8, "V"),
    ("core i7-1165g7", "11th Gen Intel(R) Core(TM) i7-1165G7 @ 2.80GHz", 28, 4, 8, "V"),
    ("core i7-1185g7", "11th Gen Intel(R) Core(TM) i7-1185G7 @ 3.00GHz", 28, 4, 8, "V"),
    ("core i5-11400", "11th Gen Intel(R) Core(TM) i5-11400 @ 2.60GHz", 65, 6, 12, "V"),
    ("core i5-11400h", "11th Gen Intel(R) Core(TM) i5-11400H @ 2.70GHz", 45, 6, 12, "V"),
    ("core i7-11700", "11th Gen Intel(R) Core(TM) i7-11700 @ 2.50GHz", 65, 8, 16, "V"),
    ("core i7-11700k", "11th Gen Intel(R) Core(TM) i7-11700K @ 3.60GHz", 125, 8, 16, "V"),
    ("core i7-11800h", "11th Gen Intel(R) Core(TM) i7-11800H @ 2.30GHz", 45, 8, 16, "V"),
    ("core i9-11900k", "11th Gen Intel(R) Core(TM) i9-11900K @ 3.50GHz", 125, 8, 16, "V"),
    # --- Intel Core, 12th gen (P+E cores: logical CPUs = 2 x P + E) --------------------
    ("core i5-12400", "12th Gen Intel(R) Core(TM) i5-12400", 65, 6, 12, "V"),
    ("core i5-12600k", "12th Gen Intel(R) Core(TM) i5-12600K", 125, 10, 16, "V"),
    ("core i5-1235u", "12th Gen Intel(R) Core(TM) i5-1235U", 15, 10, 12, "V"),
    ("core i5-1240p", "12th Gen Intel(R) Core(TM) i5-1240P", 28, 12, 16, "V"),
    ("core i7-1255u", "12th Gen Intel(R) Core(TM) i7-1255U", 15, 10, 12, "V"),
    ("core i7-1260p", "12th Gen Intel(R) Core(TM) i7-1260P", 28, 12, 16, "V"),
    ("core i7-1265u", "12th Gen Intel(R) Core(TM) i7-1265U", 15, 10, 12, "V"),
    ("core i7-12700", "12th Gen Intel(R) Core(TM) i7-12700", 65, 12, 20, "V"),
    ("core i7-12700k", "12th Gen Intel(R) Core(TM) i7-12700K", 125, 12, 20, "V"),
    ("core i7-12700h", "12th Gen Intel(R) Core(TM) i7-12700H", 45, 14, 20, "V"),
    ("core i7-1280p", "12th Gen Intel(R) Core(TM) i7-1280P", 28, 14, 20, "V"),
    ("core i9-12900k", "12th Gen Intel(R) Core(TM) i9-12900K", 125, 16, 24, "V"),
    ("core i9-12900h", "12th Gen Intel(R) Core(TM) i9-12900H", 45, 14, 20, "V"),
    # --- Intel Core, 13th gen ---------------------------------------------------------
    ("core i5-13400", "13th Gen Intel(R) Core(TM) i5-13400", 65, 10, 16, "V"),
    ("core i5-13500", "13th Gen Intel(R) Core(TM) i5-13500", 65, 14, 20, "V"),
    ("core i5-13600k", "13th Gen Intel(R) Core(TM) i5-13600K", 125, 14, 20, "V"),
    ("core i5-1335u", "13th Gen Intel(R) Core(TM) i5-1335U", 15, 10, 12, "V"),
    ("core i5-1340p", "13th Gen Intel(R) Core(TM) i5-1340P", 28, 12, 16, "V"),
    ("core i7-1355u", "13th Gen Intel(R) Core(TM) i7-1355U", 15, 10, 12, "V"),
    ("core i7-1360p", "13th Gen Intel(R) Core(TM) i7-1360P", 28, 12, 16, "V"),
    ("core i7-13700", "13th Gen Intel(R) Core(TM) i7-13700", 65, 16, 24, "V"),
    ("core i7-13700k", "13th Gen Intel(R) Core(TM) i7-13700K", 125, 16, 24, "V"),
    ("core i7-13700h", "13th Gen Intel(R) Core(TM) i7-13700H", 45, 14, 20, "V"),
    ("core i7-13620h", "13th Gen Intel(R) Core(TM) i7-13620H", 45, 10, 16, "V"),
    ("core i9-13900k", "13th Gen Intel(R) Core(TM) i9-13900K", 125, 24, 32, "V"),
    ("core i9-13900h", "13th Gen Intel(R) Core(TM) i9-13900H", 45, 14, 20, "V"),
    ("core i9-13980hx", "13th Gen Intel(R) Core(TM) i9-13980HX", 55, 24, 32, "V"),
    # --- Intel Core, 14th gen ---------------------------------------------------------
    ("core i5-14400", "14th Gen Intel(R) Core(TM) i5-14400", 65, 10, 16, "V"),
    ("core i5-14600k", "14th Gen Intel(R) Core(TM) i5-14600K", 125, 14, 20, "V"),
    ("core i7-14700", "14th Gen Intel(R) Core(TM) i7-14700", 65, 20, 28, "V"),
    ("core i7-14700k", "14th Gen Intel(R) Core(TM) i7-14700K", 125, 20, 28, "V"),
    ("core i7-14650hx", "14th Gen Intel(R) Core(TM) i7-14650HX", 55, 16, 24, "V"),
    ("core i9-14900k", "14th Gen Intel(R) Core(TM) i9-14900K", 125, 24, 32, "V"),
    ("core i9-14900hx", "14th Gen Intel(R) Core(TM) i9-14900HX", 55, 24, 32, "V"),
    # --- Intel Core Ultra -------------------------------------------------------------
    ("core ultra 5 125u", "Intel(R) Core(TM) Ultra 5 125U", 15, 12, 14, "V"),
    ("core ultra 5 125h", "Intel(R) Core(TM) Ultra 5 125H", 28, 14, 18, "V"),
    ("core ultra 7 155u", "Intel(R) Core(TM) Ultra 7 155U", 15, 12, 14, "V"),
    ("core ultra 7 165u", "Intel(R) Core(TM) Ultra 7 165U", 15, 12, 14, "V"),
    ("core ultra 7 155h", "Intel(R) Core(TM) Ultra 7 155H", 28, 16, 22, "V"),
    ("core ultra 7 165h", "Intel(R) Core(TM) Ultra 7 165H", 28, 16, 22, "V"),
    ("core ultra 9 185h", "Intel(R) Core(TM) Ultra 9 185H", 45, 16, 22, "V"),
    ("core ultra 7 258v", "Intel(R) Core(TM) Ultra 7 258V", 17, 8, 8, "V"),
    ("core ultra 5 226v", "Intel(R) Core(TM) Ultra 5 226V", 17, 8, 8, "V"),
    ("core ultra 5 245k", "Intel(R) Core(TM) Ultra 5 245K", 125, 14, 14, "V"),
    ("core ultra 7 265k", "Intel(R) Core(TM) Ultra 7 265K", 125, 20, 20, "V"),
    ("core ultra 9 285k", "Intel(R) Core(TM) Ultra 9 285K", 125, 24, 24, "V"),
    ("core ultra 7 255h", "Intel(R) Core(TM) Ultra 7 255H", 28, 16, 16, "V"),
    # --- AMD Ryzen 3000 / 4000 ------------------------------------------------------------
    ("ryzen 5 3600", "AMD Ryzen 5 3600 6-Core Processor", 65, 6, 12, "V"),
    ("ryzen 5 3600x", "AMD Ryzen 5 3600X 6-Core Processor", 95, 6, 12, "V"),
    ("ryzen 7 3700x", "AMD Ryzen 7 3700X 8-Core Processor", 65, 8, 16, "V"),
    ("ryzen 7 3800x", "AMD Ryzen 7 3800X 8-Core Processor", 105, 8, 16, "V"),
    ("ryzen 9 3900x", "AMD Ryzen 9 3900X 12-Core Processor", 105, 12, 24, "V"),
    ("ryzen 9 3950x", "AMD Ryzen 9 3950X 16-Core Processor", 105, 16, 32, "V"),
    ("ryzen 5 3500u", "AMD Ryzen 5 3500U with Radeon Vega Mobile Gfx", 15, 4, 8, "V"),
    ("ryzen 5 4500u", "AMD Ryzen 5 4500U with Radeon Graphics", 15, 6, 6, "V"),
    ("ryzen 5 4600h", "AMD Ryzen 5 4600H with Radeon Graphics", 45, 6, 12, "V"),
    ("ryzen 7 4700u", "AMD Ryzen 7 4700U with Radeon Graphics", 15, 8, 8, "V"),
    ("ryzen 7 4800h", "AMD Ryzen 7 4800H with Radeon Graphics", 45, 8, 16, "V"),
    ("ryzen 7 pro 4750u", "AMD Ryzen 7 PRO 4750U with Radeon Graphics", 15, 8, 16, "V"),
    # --- AMD Ryzen 5000 -------------------------------------------------------------------
    ("ryzen 5 5600", "AMD Ryzen 5 5600 6-Core Processor", 65, 6, 12, "V"),
    ("ryzen 5 5600x", "AMD Ryzen 5 5600X 6-Core Processor", 65, 6, 12, "V"),
    ("ryzen 5 5600g", "AMD Ryzen 5 5600G with Radeon Graphics", 65, 6, 12, "V"),
    ("ryzen 7 5700x", "AMD Ryzen 7 5700X 8-Core Processor", 65, 8, 16, "V"),
    ("ryzen 7 5800x", "AMD Ryzen 7 5800X 8-Core Processor", 105, 8, 16, "V"),
    ("ryzen 7 5800x3d", "AMD Ryzen 7 5800X3D 8-Core Processor", 105, 8, 16, "V"),
    ("ryzen 9 5900x", "AMD Ryzen 9 5900X 12-Core Processor", 105, 12, 24, "V"),
    ("ryzen 9 5950x", "AMD Ryzen 9 5950X 16-Core Processor", 105, 16, 32, "V"),
    ("ryzen 5 5500u", "AMD Ryzen 5 5500U with Radeon Graphics", 15, 6, 12, "V"),
    ("ryzen 5 5600u", "AMD Ryzen 5 5600U with Radeon Graphics", 15, 6, 12, "V"),
    ("ryzen 7 5700u", "AMD Ryzen 7 5700U with Radeon Graphics", 15, 8, 16, "V"),
    ("ryzen 7 5800u", "AMD Ryzen 7 5800U with Radeon Graphics", 15, 8, 16, "V"),
    ("ryzen 7 5800h", "AMD Ryzen 7 5800H with Radeon Graphics", 45, 8, 16, "V"),
    ("ryzen 9 5900hx", "AMD Ryzen 9 5900HX with Radeon Graphics", 45, 8, 16, "V"),
    ("ryzen 7 pro 5850u", "AMD Ryzen 7 PRO 5850U with Radeon Graphics", 15, 8, 16, "V"),
    # --- AMD Ryzen 6000 / 7000 ------------------------------------------------------------
    ("ryzen 7 6800u", "AMD Ryzen 7 6800U with Radeon Graphics", 28, 8, 16, "V"),
    ("ryzen 7 6800h", "AMD Ryzen 7 6800H with Radeon Graphics", 45, 8, 16, "V"),
    ("ryzen 7 pro 6850u", "AMD Ryzen 7 PRO 6850U with Radeon Graphics", 28, 8, 16, "V"),
    ("ryzen 5 7600", "AMD Ryzen 5 7600 6-Core Processor", 65, 6, 12, "V"),
    ("ryzen 5 7600x", "AMD Ryzen 5 7600X 6-Core Processor", 105, 6, 12, "V"),
    ("ryzen 7 7700", "AMD Ryzen 7 7700 8-Core Processor", 65, 8, 16, "V"),
    ("ryzen 7 7700x", "AMD Ryzen 7 7700X 8-Core Processor", 105, 8, 16, "V"),
    ("ryzen 7 7800x3d", "AMD Ryzen 7 7800X3D 8-Core Processor", 120, 8, 16, "V"),
    ("ryzen 9 7900", "AMD Ryzen 9 7900 12-Core Processor", 65, 12, 24, "V"),
    ("ryzen 9 7900x", "AMD Ryzen 9 7900X 12-Core Processor", 170, 12, 24, "V"),
    ("ryzen 9 7950x", "AMD Ryzen 9 7950X 16-Core Processor", 170, 16, 32, "V"),
    ("ryzen 9 7950x3d", "AMD Ryzen 9 7950X3D 16-Core Processor", 120, 16, 32, "V"),
    ("ryzen 5 7530u", "AMD Ryzen 5 7530U with Radeon Graphics", 15, 6, 12, "V"),
    ("ryzen 5 7640u", "AMD Ryzen 5 7640U w/ Radeon 760M Graphics", 28, 6, 12, "V"),
    ("ryzen 7 7730u", "AMD Ryzen 7 7730U with Radeon Graphics", 15, 8, 16, "V"),
    ("ryzen 7 7840u", "AMD Ryzen 7 7840U w/ Radeon 780M Graphics", 28, 8, 16, "V"),
    ("ryzen 7 7840hs", "AMD Ryzen 7 7840HS w/ Radeon 780M Graphics", 35, 8, 16, "V"),
    ("ryzen 9 7940hs", "AMD Ryzen 9 7940HS w/ Radeon 780M Graphics", 35, 8, 16, "V"),
    ("ryzen 7 pro 7840u", "AMD Ryzen 7 PRO 7840U w/ Radeon 780M Graphics", 28, 8, 16, "V"),
    ("ryzen 9 7945hx", "AMD Ryzen 9 7945HX with Radeon Graphics", 55, 16, 32, "V"),
    # --- AMD Ryzen 8000 / 9000 --------------------------------------------------------
    ("ryzen 7 8700g", "AMD Ryzen 7 8700G w/ Radeon 780M Graphics", 65, 8, 16, "V"),
    ("ryzen 7 8840u", "AMD Ryzen 7 8840U w/ Radeon 780M Graphics", 28, 8, 16, "V"),
    ("ryzen 5 9600x", "AMD Ryzen 5 9600X 6-Core Processor", 65, 6, 12, "V"),
    ("ryzen 7 9700x", "AMD Ryzen 7 9700X 8-Core Processor", 65, 8, 16, "V"),
    ("ryzen 9 9950x", "AMD Ryzen 9 9950X 16-Core Processor", 170, 16, 32, "V"),
    ("ryzen ai 9 hx 370", "AMD Ryzen AI 9 HX 370 w/ Radeon 890M", 28, 12, 24, "V"),
)
