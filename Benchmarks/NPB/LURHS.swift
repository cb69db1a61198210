/// The steady-state residual of the five PDEs (NPB's rhs and erhs): inviscid and viscous
/// fluxes in i, j and k, central differences and fourth-order dissipation. Expressions keep
/// NPB's order of operations, so the sums round as the Fortran code's do.
extension LUBenchmark {
    /// rhs: rsd = -frct + the residual of u, after fetching u's ghost layers.
    func rhs() {
        exchange.exchangeGhosts(u)
        let r = rsd, f = frct
        for k in 1...grid.nz {
            for j in 1...grid.ny {
                let rp = r.at(1, j, k), fp = f.at(1, j, k)
                for n in 0..<(5 * grid.nx) { rp[n] = -fp[n] }
            }
        }
        residual(of: u, into: rsd, forcing: false)
    }

    /// erhs: frct = the residual of the exact solution (field `rsd` is used as scratch).
    func erhs() {
        let w = rsd
        frct.base.update(repeating: 0, count: frct.count)
        // The exact field, ghosts included: the neighbours would send these same values.
        for k in 1...grid.nz {
            for j in -1...(grid.ny + 2) where (1...grid.ny0).contains(grid.jpt + j) {
                for i in -1...(grid.nx + 2) where (1...grid.nx0).contains(grid.ipt + i) {
                    exact(grid.ipt + i, grid.jpt + j, k, into: w.at(i, j, k))
                }
            }
        }
        residual(of: w, into: frct, forcing: true)
    }

    /// Adds the residual of field `w` to `r`. `forcing` follows erhs, which writes the
    /// second difference in k as w(k+1) - 2 w(k) + w(k-1) (rhs: w(k-1) - 2 w(k) + w(k+1)).
    func residual(of w: LUField, into r: LUField, forcing: Bool) {
        let g = grid
        let nx = g.nx, ny = g.ny, nz = g.nz
        let ist = g.ist, iend = g.iend, jst = g.jst, jend = g.jend
        let flux = self.flux
        let c1 = LUBenchmark.c1, c2 = LUBenchmark.c2, c3 = LUBenchmark.c3, c4 = LUBenchmark.c4
        let c5 = LUBenchmark.c5
        let dssp = self.dssp, dx = self.dx, dy = self.dy, dz = self.dz
        let tx1 = self.tx1, tx2 = self.tx2, tx3 = self.tx3
        let ty1 = self.ty1, ty2 = self.ty2, ty3 = self.ty3
        let tz1 = self.tz1, tz2 = self.tz2, tz3 = self.tz3
        let viscous = 0.5 * (1.0 - c1 * c5)
        let c1c5 = c1 * c5

        // The inviscid flux of direction d (1: i, 2: j, 3: k) of the point `p` into `out`.
        @inline(__always) func inviscid(_ p: UnsafeMutablePointer<Double>, _ d: Int,
                                        _ out: UnsafeMutablePointer<Double>) {
            out[0] = p[d]
            let ud = p[d] / p[0]
            let q = 0.5 * (p[1] * p[1] + p[2] * p[2] + p[3] * p[3]) / p[0]
            out[1] = p[1] * ud
            out[2] = p[2] * ud
            out[3] = p[3] * ud
            out[d] += c2 * (p[4] - q)
            out[4] = (c1 * p[4] - c2 * q) * ud
        }
        // The viscous flux of direction d between `p` and the point before it, `b`, with t3
        // the direction's 1/h: the component along d carries the 4/3.
        @inline(__always) func viscousFlux(_ p: UnsafeMutablePointer<Double>, _ b: UnsafeMutablePointer<Double>,
                                           _ d: Int, _ t3: Double, _ out: UnsafeMutablePointer<Double>) {
            var tmp = 1.0 / p[0]
            let u2 = tmp * p[1], u3 = tmp * p[2], u4 = tmp * p[3], u5 = tmp * p[4]
            tmp = 1.0 / b[0]
            let b2 = tmp * b[1], b3 = tmp * b[2], b4 = tmp * b[3], b5 = tmp * b[4]
            out[1] = t3 * (u2 - b2)
            out[2] = t3 * (u3 - b3)
            out[3] = t3 * (u4 - b4)
            let ud = d == 1 ? u2 : (d == 2 ? u3 : u4)
            let bd = d == 1 ? b2 : (d == 2 ? b3 : b4)
            out[d] = (4.0 / 3.0) * t3 * (ud - bd)
            out[4] = viscous * t3 * ((u2 * u2 + u3 * u3 + u4 * u4) - (b2 * b2 + b3 * b3 + b4 * b4))
                + (1.0 / 6.0) * t3 * (ud * ud - bd * bd) + c1c5 * t3 * (u5 - b5)
        }
        // Second differences and the viscous flux difference, d1 = t1 * dissipation.
        @inline(__always) func diffuse(_ rp: UnsafeMutablePointer<Double>, _ before: UnsafeMutablePointer<Double>,
                                       _ p: UnsafeMutablePointer<Double>, _ after: UnsafeMutablePointer<Double>,
                                       _ fp: UnsafeMutablePointer<Double>, _ fa: UnsafeMutablePointer<Double>,
                                       _ t3: Double, _ d1: Double) {
            rp[0] = rp[0] + d1 * (before[0] - 2.0 * p[0] + after[0])
            for m in 1..<5 {
                rp[m] = rp[m] + t3 * c3 * c4 * (fa[m] - fp[m]) + d1 * (before[m] - 2.0 * p[m] + after[m])
            }
        }
        // Fourth-order dissipation: interior stencil and the two one-sided ones at each end.
        @inline(__always) func dissipate(_ rp: UnsafeMutablePointer<Double>, _ m2: UnsafeMutablePointer<Double>,
                                         _ m1: UnsafeMutablePointer<Double>, _ p: UnsafeMutablePointer<Double>,
                                         _ p1: UnsafeMutablePointer<Double>, _ p2: UnsafeMutablePointer<Double>) {
            for m in 0..<5 {
                rp[m] = rp[m] - dssp * (m2[m] - 4.0 * m1[m] + 6.0 * p[m] - 4.0 * p1[m] + p2[m])
            }
        }
        // Near the first boundary: points 2 and 3 given points 2...5.
        @inline(__always) func dissipateFirst(_ r2: UnsafeMutablePointer<Double>, _ r3: UnsafeMutablePointer<Double>,
                                              _ w2: UnsafeMutablePointer<Double>, _ w3: UnsafeMutablePointer<Double>,
                                              _ w4: UnsafeMutablePointer<Double>, _ w5: UnsafeMutablePointer<Double>) {
            for m in 0..<5 {
                r2[m] = r2[m] - dssp * (+5.0 * w2[m] - 4.0 * w3[m] + w4[m])
                r3[m] = r3[m] - dssp * (-4.0 * w2[m] + 6.0 * w3[m] - 4.0 * w4[m] + w5[m])
            }
        }
        // Near the last boundary n: points n-2 and n-1 given points n-4...n-1.
        @inline(__always) func dissipateLast(_ ra: UnsafeMutablePointer<Double>, _ rb: UnsafeMutablePointer<Double>,
                                             _ w4: UnsafeMutablePointer<Double>, _ w3: UnsafeMutablePointer<Double>,
                                             _ w2: UnsafeMutablePointer<Double>, _ w1: UnsafeMutablePointer<Double>) {
            for m in 0..<5 {
                ra[m] = ra[m] - dssp * (w4[m] - 4.0 * w3[m] + 6.0 * w2[m] - 4.0 * w1[m])
                rb[m] = rb[m] - dssp * (w3[m] - 4.0 * w2[m] + 5.0 * w1[m])
            }
        }

        // xi-direction (i): needs two ghost layers in i from the north and south neighbours.
        let iLow = g.north == nil ? 1 : 0, iHigh = g.south == nil ? nx : nx + 1
        let ist1 = g.north == nil ? 4 : 1, iend1 = g.south == nil ? nx - 3 : nx
        let si = 5
        for k in 2..<nz {
            for j in jst...jend {
                let wl = w.at(0, j, k), rl = r.at(0, j, k), fl = flux.at(0, j, k)
                for i in iLow...iHigh { inviscid(wl + si * i, 1, fl + si * i) }
                for i in ist...iend {
                    let rp = rl + si * i, fa = fl + si * (i + 1), fb = fl + si * (i - 1)
                    for m in 0..<5 { rp[m] = rp[m] - tx2 * (fa[m] - fb[m]) }
                }
                for i in ist...iHigh { viscousFlux(wl + si * i, wl + si * (i - 1), 1, tx3, fl + si * i) }
                for i in ist...iend {
                    diffuse(rl + si * i, wl + si * (i - 1), wl + si * i, wl + si * (i + 1),
                            fl + si * i, fl + si * (i + 1), tx3, dx * tx1)
                }
                if g.north == nil {
                    dissipateFirst(rl + si * 2, rl + si * 3, wl + si * 2, wl + si * 3, wl + si * 4, wl + si * 5)
                }
                if ist1 <= iend1 {
                    for i in ist1...iend1 {
                        dissipate(rl + si * i, wl + si * (i - 2), wl + si * (i - 1), wl + si * i,
                                  wl + si * (i + 1), wl + si * (i + 2))
                    }
                }
                if g.south == nil {
                    dissipateLast(rl + si * (nx - 2), rl + si * (nx - 1), wl + si * (nx - 4), wl + si * (nx - 3),
                                  wl + si * (nx - 2), wl + si * (nx - 1))
                }
            }
        }

        // eta-direction (j): two ghost layers in j from the west and east neighbours.
        let jLow = g.west == nil ? 1 : 0, jHigh = g.east == nil ? ny : ny + 1
        let jst1 = g.west == nil ? 4 : 1, jend1 = g.east == nil ? ny - 3 : ny
        let sj = w.strideJ
        for k in 2..<nz {
            for j in jLow...jHigh {
                for i in ist...iend { inviscid(w.at(i, j, k), 2, flux.at(i, j, k)) }
            }
            for j in jst...jend {
                for i in ist...iend {
                    let rp = r.at(i, j, k), fa = flux.at(i, j + 1, k), fb = flux.at(i, j - 1, k)
                    for m in 0..<5 { rp[m] = rp[m] - ty2 * (fa[m] - fb[m]) }
                }
            }
            for j in jst...jHigh {
                for i in ist...iend { viscousFlux(w.at(i, j, k), w.at(i, j - 1, k), 2, ty3, flux.at(i, j, k)) }
            }
            for j in jst...jend {
                for i in ist...iend {
                    let p = w.at(i, j, k), fp = flux.at(i, j, k)
                    diffuse(r.at(i, j, k), p - sj, p, p + sj, fp, fp + sj, ty3, dy * ty1)
                }
            }
            if g.west == nil {
                for i in ist...iend {
                    let p = w.at(i, 2, k)
                    dissipateFirst(r.at(i, 2, k), r.at(i, 3, k), p, p + sj, p + 2 * sj, p + 3 * sj)
                }
            }
            if jst1 <= jend1 {
                for j in jst1...jend1 {
                    for i in ist...iend {
                        let p = w.at(i, j, k)
                        dissipate(r.at(i, j, k), p - 2 * sj, p - sj, p, p + sj, p + 2 * sj)
                    }
                }
            }
            if g.east == nil {
                for i in ist...iend {
                    let p = w.at(i, ny - 1, k)
                    dissipateLast(r.at(i, ny - 2, k), r.at(i, ny - 1, k), p - 3 * sj, p - 2 * sj, p - sj, p)
                }
            }
        }

        // zeta-direction (k): all planes are local.
        let sk = w.strideK
        for k in 1...nz {
            for j in jst...jend {
                for i in ist...iend { inviscid(w.at(i, j, k), 3, flux.at(i, j, k)) }
            }
        }
        for k in 2..<nz {
            for j in jst...jend {
                for i in ist...iend {
                    let rp = r.at(i, j, k), fp = flux.at(i, j, k)
                    for m in 0..<5 { rp[m] = rp[m] - tz2 * (fp[m + sk] - fp[m - sk]) }
                }
            }
        }
        for k in 2...nz {
            for j in jst...jend {
                for i in ist...iend { viscousFlux(w.at(i, j, k), w.at(i, j, k - 1), 3, tz3, flux.at(i, j, k)) }
            }
        }
        for k in 2..<nz {
            for j in jst...jend {
                for i in ist...iend {
                    let p = w.at(i, j, k), fp = flux.at(i, j, k)
                    if forcing {
                        diffuse(r.at(i, j, k), p + sk, p, p - sk, fp, fp + sk, tz3, dz * tz1)
                    } else {
                        diffuse(r.at(i, j, k), p - sk, p, p + sk, fp, fp + sk, tz3, dz * tz1)
                    }
                }
            }
        }
        for j in jst...jend {
            for i in ist...iend {
                let p = w.at(i, j, 2)
                dissipateFirst(r.at(i, j, 2), r.at(i, j, 3), p, p + sk, p + 2 * sk, p + 3 * sk)
            }
        }
        if nz - 3 >= 4 {
            for k in 4...(nz - 3) {
                for j in jst...jend {
                    for i in ist...iend {
                        let p = w.at(i, j, k)
                        dissipate(r.at(i, j, k), p - 2 * sk, p - sk, p, p + sk, p + 2 * sk)
                    }
                }
            }
        }
        for j in jst...jend {
            for i in ist...iend {
                let p = w.at(i, j, nz - 1)
                dissipateLast(r.at(i, j, nz - 2), r.at(i, j, nz - 1), p - 3 * sk, p - 2 * sk, p - sk, p)
            }
        }
    }
}
