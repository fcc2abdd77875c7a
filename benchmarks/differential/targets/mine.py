"""My own reading of DESIGN.md sections 3-5, 8, 9.1-9.3: the design model as a MIP (PuLP/CBC),
and an evaluator of a given design answer (awards + per-scenario assignment and block use).

Written from DESIGN.md only.
"""

import json
from collections import defaultdict

import pulp

RANK = {"less_complex": 0, "complex": 1, "highly_complex": 2}
UNIT = {"package": "hours", "placement": "beds"}


class Model:
    def __init__(self, doc):
        self.doc = doc
        self.prov = {p["id"]: p for p in doc["providers"]}
        self.offers = []
        for o in doc["offers"]:
            o = dict(o)
            o.setdefault("travel_factor", 1.0)
            o.setdefault("care_groups", [])
            oid = o.get("id") or o.get("scheme") or f"{o['provider']}/{o['zone']}/{o['service']}"
            o["key"] = oid
            self.offers.append(o)
        self.offer_by = {o["key"]: o for o in self.offers}
        self.lots = {lt["id"]: lt for lt in doc.get("lots", [])}
        self.cell_lot = {}
        for lt in doc.get("lots", []):
            for z in lt["zones"]:
                for s in lt["services"]:
                    for c in lt["complexities"]:
                        self.cell_lot[(z, s, c)] = lt["id"]
        pol = doc.get("policy", {})
        self.pol = {
            "unmet_penalty": pol.get("unmet_penalty", {}),
            "transfer_penalty": pol.get("transfer_penalty", 0.0),
            "quality_weight": pol.get("quality_weight", 0.0),
            "out_of_zone_penalty": pol.get("out_of_zone_penalty", 0.0),
            "min_framework_quality": pol.get("min_framework_quality", 0.0),
            "max_provider_share": pol.get("max_provider_share"),
            "objective": pol.get("objective", "weighted"),
        }
        # bids that cannot be awarded are dropped: DESIGN.md section 5 drops a bid from a provider
        # below its lot's block.min_quality. The engine (commit cf3c218) also drops a bid from a
        # provider below the lot's own min_quality (9.2) or below policy.min_framework_quality:
        # such a provider gets no work in the lot's cells, so its award could only be paid for.
        # DESIGN.md does not say so; this reference follows the engine's reading.
        self.bids = {}
        self.dropped = []
        mfq = pol.get("min_framework_quality", 0.0)
        for b in doc.get("block_bids", []):
            lot = self.lots[b["lot"]]
            blk = lot.get("block")
            q = self.prov[b["provider"]]["quality"]
            if (
                (blk is not None and q < blk.get("min_quality", 0))
                or q < lot.get("min_quality", 0)
                or q < mfq
            ):
                self.dropped.append((b["provider"], b["lot"]))
                continue
            bb = dict(min_volume=0.0, award_cost=0.0)
            bb.update(b)
            self.bids[(b["provider"], b["lot"])] = bb
        self.contract_vol = defaultdict(float)
        self.contract_cost = 0.0
        for c in doc.get("block_contracts", []):
            self.contract_vol[(c["provider"], c["lot"])] += c["volume"]
            self.contract_cost += c["rate"] * c["volume"]
        # scenarios
        base = [self.norm_need(n) for n in doc["needs"]]
        sc = doc.get("scenarios") or []
        self.scen = []
        if not sc:
            self.scen.append(("base", 1.0, base))
        else:
            for s in sc:
                if s.get("needs") is not None:
                    ns = [self.norm_need(n) for n in s["needs"]]
                else:
                    m = s.get("demand_multiplier") or 1.0
                    ns = []
                    for n in base:
                        n2 = dict(n)
                        if n2["kind"] == "package":
                            n2["quantity"] = n["quantity"] * m
                        ns.append(n2)
                self.scen.append((s["id"], s["weight"], ns))
        # demand per lot per scenario and expected
        self.D = []
        for _, _, ns in self.scen:
            d = defaultdict(float)
            for n in ns:
                lt = self.cell_lot.get((n["zone"], n["service"], n["complexity"]))
                if lt is not None:
                    d[lt] += n["quantity"]
            self.D.append(d)
        self.Dexp = defaultdict(float)
        for (_sid, w, _ns), d in zip(self.scen, self.D, strict=False):
            for lt, v in d.items():
                self.Dexp[lt] += w * v

    def norm_need(self, n):
        n = dict(n)
        n.setdefault("priority", "standard")
        if n["kind"] == "placement":
            n.setdefault("quantity", 1.0)
        n["zones"] = list(n.get("acceptable_zones") or [n["zone"]])
        n.setdefault("current_provider", None)
        return n

    def holds_block(self, p, lt):
        return (
            (p, lt) in self.bids
            or self.contract_vol.get((p, lt), 0) > 0
            or (p, lt) in self.contract_vol
        )

    def pairs(self, n):
        """Eligible (offer, lot) pairs for a need."""
        out = []
        for o in self.offers:
            p = self.prov[o["provider"]]
            if o["zone"] not in n["zones"] or o["service"] != n["service"]:
                continue
            if o["unit"] != UNIT[n["kind"]]:
                continue
            if RANK[n["complexity"]] > RANK[o["max_complexity"]]:
                continue
            if o["care_groups"] and n["care_group"] not in o["care_groups"]:
                continue
            if p["quality"] < self.pol["min_framework_quality"]:
                continue
            lt = self.cell_lot.get((o["zone"], n["service"], n["complexity"]))
            if lt is not None and p["quality"] < self.lots[lt].get("min_quality", 0):
                continue
            if (
                lt is not None
                and self.lots[lt].get("framework", True) is False
                and not self.holds_block(o["provider"], lt)
            ):
                continue  # can only be served from block volume, and p has none there
            out.append((o, lt))
        return out

    def unit_cost(self, n, o):
        p = self.prov[o["provider"]]
        c = self.pol["quality_weight"] * (100 - p["quality"]) / 100
        if o["zone"] != n["zone"]:
            c += self.pol["out_of_zone_penalty"]
        return c

    # ------------------------------------------------------------------ MIP
    def build(self, lex_phase=None, unmet_cap=None):
        prob = pulp.LpProblem("design", pulp.LpMinimize)
        y, V = {}, {}
        for (p, lt), b in self.bids.items():
            y[p, lt] = pulp.LpVariable(f"y_{p}_{lt}", cat="Binary")
            V[p, lt] = pulp.LpVariable(f"V_{p}_{lt}", lowBound=0)
            prob += V[p, lt] <= b["max_volume"] * y[p, lt]
            prob += V[p, lt] >= b["min_volume"] * y[p, lt]
        block_cost = (
            pulp.lpSum(b["rate"] * V[k] + b["award_cost"] * y[k] for k, b in self.bids.items())
            + self.contract_cost
        )
        # lot block sections
        for lid, lot in self.lots.items():
            blk = lot.get("block")
            if blk is None:
                continue
            ks = [k for k in self.bids if k[1] == lid]
            ny = pulp.lpSum(y[k] for k in ks)
            prob += ny >= blk.get("min_providers", 0)
            if blk.get("max_providers") is not None:
                prob += ny <= blk["max_providers"]
            D = self.Dexp.get(lid, 0.0)
            if D > 0:
                sv = pulp.lpSum(V[k] for k in ks)
                prob += sv >= blk.get("min_share", 0) * D
                prob += sv <= blk.get("max_share", 1) * D
        # design targets
        for t in self.doc.get("design_targets", []):
            ks = [k for k in self.bids if k[1] in t["lots"]]
            D = sum(self.Dexp.get(lt, 0.0) for lt in t["lots"])
            if D > 0:
                sv = pulp.lpSum(V[k] for k in ks)
                prob += sv >= t.get("min_block_share", 0) * D
                prob += sv <= t.get("max_block_share", 1) * D
            provs = sorted({k[0] for k in ks})
            z = {}
            for p in provs:
                z[p] = pulp.LpVariable(f"z_{t['id']}_{p}", cat="Binary")
                mine = [k for k in ks if k[0] == p]
                for k in mine:
                    prob += y[k] <= z[p]
                prob += z[p] <= pulp.lpSum(y[k] for k in mine)
            nz = pulp.lpSum(z.values())
            prob += nz >= t.get("min_providers", 0)
            if t.get("max_providers") is not None:
                prob += nz <= t["max_providers"]
        # scenarios
        rec_terms = []
        unmet_terms = []
        for si, (_sid, w, ns) in enumerate(self.scen):
            fw, qz, um, tr = [], [], [], []
            used_off = defaultdict(list)
            used_prov = defaultdict(list)
            blk_use = defaultdict(list)
            share = defaultdict(list)
            for ni, n in enumerate(ns):
                u = pulp.LpVariable(f"u_{si}_{ni}", cat="Binary")
                xs = []
                q = n["quantity"]
                for o, lt in self.pairs(n):
                    p = o["provider"]
                    x = pulp.LpVariable(f"x_{si}_{ni}_{o['key']}", cat="Binary")
                    xs.append((x, o))
                    used_off[o["key"]].append(q * o["travel_factor"] * x)
                    if o["unit"] == "hours":
                        used_prov[p].append(q * o["travel_factor"] * x)
                    if lt is not None and self.holds_block(p, lt):
                        if self.lots[lt].get("framework", True) is False:
                            b = x
                        else:
                            b = pulp.LpVariable(f"b_{si}_{ni}_{o['key']}", lowBound=0)
                            prob += b <= x
                        blk_use[p, lt].append(q * b)
                        fw.append(o["price"] * q * (x - b) if b is not x else 0)
                    else:
                        fw.append(o["price"] * q * x)
                    if lt is not None:
                        share[p, lt].append(q * x)
                    qz.append(self.unit_cost(n, o) * q * x)
                prob += pulp.lpSum(x for x, _ in xs) + u == 1
                um.append(self.pol["unmet_penalty"][n["priority"]] * q * u)
                c = n["current_provider"]
                if c is not None:
                    tr.append(
                        self.pol["transfer_penalty"]
                        * (1 - pulp.lpSum(x for x, o in xs if o["provider"] == c))
                    )
            for key, terms in used_off.items():
                o = self.offer_by[key]
                cap = o["capacity"]
                if o.get("if_awarded"):
                    L = o["if_awarded"]
                    k = (o["provider"], L)
                    if k in self.contract_vol:
                        prob += pulp.lpSum(terms) <= cap
                    elif k in self.bids:
                        prob += pulp.lpSum(terms) <= cap * y[k]
                    else:
                        prob += pulp.lpSum(terms) <= 0
                else:
                    prob += pulp.lpSum(terms) <= cap
            for p, terms in used_prov.items():
                if self.prov[p].get("capacity") is not None:
                    prob += pulp.lpSum(terms) <= self.prov[p]["capacity"]
            for (p, lt), terms in blk_use.items():
                vol = self.contract_vol.get((p, lt), 0.0)
                vb = V[p, lt] if (p, lt) in self.bids else 0
                prob += pulp.lpSum(terms) <= vol + vb
            s = self.pol["max_provider_share"]
            if s is not None:
                for (_p, lt), terms in share.items():
                    D = self.D[si].get(lt, 0.0)
                    if D > 0:
                        prob += pulp.lpSum(terms) <= s * D
            rec_terms.append(
                w * (pulp.lpSum(fw) + pulp.lpSum(qz) + pulp.lpSum(um) + pulp.lpSum(tr))
            )
            unmet_terms.append(w * pulp.lpSum(um))
        unmet = pulp.lpSum(unmet_terms)
        total = block_cost + pulp.lpSum(rec_terms)
        # constant-only constraints (e.g. a share floor over lots with no admissible bid):
        # check them here (PuLP's HiGHS interface silently drops them)
        self.trivially_infeasible = False
        for name in list(prob.constraints):
            c = prob.constraints[name]
            if not any(v != 0 for v in c.values()):
                if not c.valid(1e-9):
                    self.trivially_infeasible = True
                del prob.constraints[name]
        if lex_phase == 1:
            prob += unmet
        else:
            prob += total
            if unmet_cap is not None:
                prob += unmet <= unmet_cap
        return prob, y, V, total, unmet

    def solve(self, lexicographic=None, time_limit=120, solver_name="both"):
        """Solve with HiGHS (via PuLP) and CBC (preprocessing off: CBC 2.10's preprocessing
        returned a wrong 'optimal' on i0187); 'both' flags a disagreement between them."""
        if solver_name == "both":
            a = self.solve(lexicographic, time_limit, "highs")
            b = self.solve(lexicographic, time_limit, "cbc")
            if a["status"] != b["status"] or (
                a["status"] == "Optimal"
                and abs(a["objective"] - b["objective"]) > 1e-6 * max(1, abs(a["objective"]))
            ):
                a["solver_disagreement"] = f"highs {a.get('objective')} cbc {b.get('objective')}"
            return a
        lex = (
            lexicographic if lexicographic is not None else self.pol["objective"] == "lexicographic"
        )
        if solver_name == "highs":
            solver = pulp.HiGHS(msg=False, gapRel=0, gapAbs=1e-9, timeLimit=time_limit)
        else:
            solver = pulp.PULP_CBC_CMD(
                msg=False, gapRel=0, gapAbs=1e-9, timeLimit=time_limit, options=["preprocess off"]
            )
        if lex:
            prob, y, V, total, unmet = self.build(lex_phase=1)
            if self.trivially_infeasible:
                return {"status": "Infeasible"}
            prob.solve(solver)
            if pulp.LpStatus[prob.status] != "Optimal":
                return {"status": pulp.LpStatus[prob.status]}
            U1 = pulp.value(unmet)
            cap = U1 + 1e-6 * max(1.0, abs(U1))
            prob, y, V, total, unmet = self.build(lex_phase=2, unmet_cap=cap)
        else:
            prob, y, V, total, unmet = self.build()
        if self.trivially_infeasible:
            return {"status": "Infeasible"}
        prob.solve(solver)
        status = pulp.LpStatus[prob.status]
        if status != "Optimal":
            return {"status": status}
        return {
            "status": "Optimal",
            "objective": pulp.value(total),
            "unmet": pulp.value(unmet),
            "awards": {f"{p}|{lt}": V[p, lt].value() for (p, lt) in V if y[p, lt].value() > 0.5},
        }

    # ------------------------------------------------------------- evaluator
    def evaluate(self, awards, worlds, tol=1e-6):
        """awards: {(p,l): volume};
        worlds: {scenario id: (assignment{need: offer}, block{need: qty})}.
        Returns (objective, unmet_term, problems)."""
        probs = []
        for k in awards:
            if k not in self.bids:
                probs.append(f"award {k} is not an admissible bid")
        yv = {k: (1 if k in awards else 0) for k in self.bids}
        Vv = {k: awards.get(k, 0.0) for k in self.bids}
        cost = self.contract_cost
        for k, b in self.bids.items():
            if yv[k]:
                if Vv[k] < b["min_volume"] - tol or Vv[k] > b["max_volume"] + tol:
                    probs.append(
                        f"award {k} volume {Vv[k]} outside [{b['min_volume']},{b['max_volume']}]"
                    )
                cost += b["rate"] * Vv[k] + b["award_cost"]
        for lid, lot in self.lots.items():
            blk = lot.get("block")
            if blk is None:
                continue
            ks = [k for k in self.bids if k[1] == lid]
            ny = sum(yv[k] for k in ks)
            if ny < blk.get("min_providers", 0) or (
                blk.get("max_providers") is not None and ny > blk["max_providers"]
            ):
                probs.append(f"lot {lid}: {ny} providers outside block limits")
            D = self.Dexp.get(lid, 0.0)
            sv = sum(Vv[k] for k in ks)
            if D > 0 and (
                sv < blk.get("min_share", 0) * D - tol * max(1, D)
                or sv > blk.get("max_share", 1) * D + tol * max(1, D)
            ):
                probs.append(f"lot {lid}: block volume {sv} outside share bounds of D={D}")
        for t in self.doc.get("design_targets", []):
            ks = [k for k in self.bids if k[1] in t["lots"]]
            D = sum(self.Dexp.get(lt, 0.0) for lt in t["lots"])
            sv = sum(Vv[k] for k in ks)
            if D > 0 and (
                sv < t.get("min_block_share", 0) * D - tol * max(1, D)
                or sv > t.get("max_block_share", 1) * D + tol * max(1, D)
            ):
                probs.append(f"target {t['id']}: block volume {sv} outside share bounds of D={D}")
            nprov = len({k[0] for k in ks if yv[k]})
            if nprov < t.get("min_providers", 0) or (
                t.get("max_providers") is not None and nprov > t["max_providers"]
            ):
                probs.append(f"target {t['id']}: {nprov} distinct providers outside limits")
        rec = 0.0
        unmet_total = 0.0
        for si, (sid, w, ns) in enumerate(self.scen):
            if sid not in worlds:
                probs.append(f"scenario {sid} missing")
                continue
            asg, blk = worlds[sid]
            used_off = defaultdict(float)
            used_prov = defaultdict(float)
            blk_use = defaultdict(float)
            share = defaultdict(float)
            fw = qz = um = tr = 0.0
            for n in ns:
                q = n["quantity"]
                okey = asg.get(n["id"])
                bq = blk.get(n["id"], 0.0)
                if okey is None:
                    um += self.pol["unmet_penalty"][n["priority"]] * q
                    if n["current_provider"] is not None:
                        tr += self.pol["transfer_penalty"]
                    if bq > tol:
                        probs.append(f"{sid}/{n['id']}: block qty without assignment")
                    continue
                el = {o["key"]: lt for o, lt in self.pairs(n)}
                if okey not in el:
                    probs.append(f"{sid}/{n['id']}: offer {okey} not eligible")
                    continue
                o = self.offer_by[okey]
                lt = el[okey]
                p = o["provider"]
                used_off[okey] += q * o["travel_factor"]
                if o["unit"] == "hours":
                    used_prov[p] += q * o["travel_factor"]
                if bq < -tol or bq > q + tol:
                    probs.append(f"{sid}/{n['id']}: block qty {bq} outside [0,{q}]")
                if bq > tol and not (
                    lt is not None and (self.contract_vol.get((p, lt), 0) > 0 or yv.get((p, lt), 0))
                ):
                    probs.append(f"{sid}/{n['id']}: block qty {bq} but {p} holds no block in {lt}")
                if (
                    lt is not None
                    and self.lots[lt].get("framework", True) is False
                    and abs(bq - q) > tol
                ):
                    probs.append(
                        f"{sid}/{n['id']}: framework=false lot {lt} but block qty {bq} != {q}"
                    )
                if lt is not None:
                    blk_use[p, lt] += bq
                    share[p, lt] += q
                fw += o["price"] * (q - bq)
                qz += self.unit_cost(n, o) * q
                if n["current_provider"] is not None and n["current_provider"] != p:
                    tr += self.pol["transfer_penalty"]
            for key, used in used_off.items():
                o = self.offer_by[key]
                cap = o["capacity"]
                if o.get("if_awarded"):
                    k = (o["provider"], o["if_awarded"])
                    if not (k in self.contract_vol or yv.get(k, 0)):
                        cap = 0.0
                if used > cap + tol * max(1, cap):
                    probs.append(f"{sid}: offer {key} used {used} > cap {cap}")
            for p, used in used_prov.items():
                c = self.prov[p].get("capacity")
                if c is not None and used > c + tol * max(1, c):
                    probs.append(f"{sid}: provider {p} used {used} > cap {c}")
            for (p, lt), used in blk_use.items():
                vol = self.contract_vol.get((p, lt), 0.0) + Vv.get((p, lt), 0.0)
                if used > vol + tol * max(1, vol):
                    probs.append(f"{sid}: block {p}/{lt} used {used} > volume {vol}")
            s = self.pol["max_provider_share"]
            if s is not None:
                for (p, lt), used in share.items():
                    D = self.D[si].get(lt, 0.0)
                    if D > 0 and used > s * D + tol * max(1, D):
                        probs.append(f"{sid}: share {p}/{lt} {used} > {s}*{D}")
            rec += w * (fw + qz + um + tr)
            unmet_total += w * um
        return cost + rec, unmet_total, probs


if __name__ == "__main__":
    import sys

    m = Model(json.load(open(sys.argv[1])))
    print(m.solve())
