//! Figures of the Navier–Stokes validation (`benchmarks/navier_stokes.sh`): reads the results
//! directory and writes `cavity_ghia.png` (the centre-line profiles of the cavity at Re = 100,
//! 400 and 1000 over the points of Ghia, Ghia & Shin 1982, taken from ddkit's own tables) and
//! `dfg_coefficients.png` (c_D(t) and c_L(t) of DFG 2D-2 and 2D-3 at Δt = 0.005, 0.0025 and
//! 0.00125). Text is drawn with the DejaVu Sans font of Debian's `fonts-dejavu-core`.
//!
//! Usage: `ns_plot DIR` (default `benchmarks/results/navier_stokes`).

use ddkit::problems::navier_stokes::cases::ghia;
use plotters::prelude::*;
use std::error::Error;
use std::path::Path;

/// The Reynolds numbers of the cavity runs and their colours.
const RUNS: [(u32, RGBColor); 3] = [
    (100, RGBColor(31, 119, 180)),
    (400, RGBColor(214, 39, 40)),
    (1000, RGBColor(44, 160, 44)),
];

/// The numeric rows of a CSV file with a header line.
fn csv(path: &Path) -> Result<Vec<Vec<f64>>, Box<dyn Error>> {
    let text = std::fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))?;
    let rows = text.lines().skip(1).map(|l| l.split(',').map(str::parse).collect());
    Ok(rows.collect::<Result<_, _>>()?)
}

fn cavity(dir: &Path) -> Result<(), Box<dyn Error>> {
    let file = dir.join("cavity_ghia.png");
    let root = BitMapBackend::new(&file, (1200, 560)).into_drawing_area();
    root.fill(&WHITE)?;
    let panels = root.split_evenly((1, 2));
    // (panel, profile file, axis along the line, velocity column, title, axes)
    let specs = [
        (
            "profile_x0.5.csv",
            1,
            2,
            "u on the vertical centre line x = 0.5",
            ("u", "y"),
        ),
        (
            "profile_y0.5.csv",
            0,
            3,
            "v on the horizontal centre line y = 0.5",
            ("x", "v"),
        ),
    ];
    for (k, (area, (name, along, col, title, (xd, yd)))) in panels.iter().zip(specs).enumerate() {
        let mut chart = ChartBuilder::on(area)
            .caption(title, ("sans-serif", 22))
            .margin(12)
            .x_label_area_size(40)
            .y_label_area_size(55)
            .build_cartesian_2d(-0.6..1.05, -0.6..1.05)?;
        chart.configure_mesh().x_desc(xd).y_desc(yd).draw()?;
        for (re, colour) in RUNS {
            let rows = csv(&dir.join(format!("cavity_re{re}")).join(name))?;
            // u(y) is drawn with y upwards; v(x) with x along.
            let line: Vec<(f64, f64)> = rows
                .iter()
                .map(|r| if k == 0 { (r[col], r[along]) } else { (r[along], r[col]) })
                .collect();
            chart
                .draw_series(LineSeries::new(line, colour.stroke_width(2)))?
                .label(format!("ddkit Re {re}"))
                .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 20, y)], colour.stroke_width(2)));
            let (gu, gv) = ghia(re as f64).ok_or("no Ghia table")?;
            let points: Vec<(f64, f64)> = if k == 0 {
                gu.iter().map(|&(y, u)| (u, y)).collect()
            } else {
                gv.to_vec()
            };
            chart.draw_series(points.iter().map(|&p| Circle::new(p, 4, colour.filled())))?;
        }
        let corner = if k == 0 {
            SeriesLabelPosition::LowerRight
        } else {
            SeriesLabelPosition::UpperRight
        };
        chart
            .configure_series_labels()
            .position(corner)
            .background_style(WHITE.mix(0.8))
            .border_style(BLACK)
            .label_font(("sans-serif", 16))
            .draw()?;
    }
    root.present()?;
    Ok(())
}

/// The time steps of the 2D-2 and 2D-3 runs (`dfg2_dtX`, `dfg3_dtX`), drawn over each other.
const DFG_STEPS: [(&str, RGBColor); 3] = [
    ("0.005", RGBColor(214, 39, 40)),
    ("0.0025", RGBColor(255, 127, 14)),
    ("0.00125", RGBColor(31, 119, 180)),
];

fn cylinder(dir: &Path) -> Result<(), Box<dyn Error>> {
    let file = dir.join("dfg_coefficients.png");
    let root = BitMapBackend::new(&file, (1200, 900)).into_drawing_area();
    root.fill(&WHITE)?;
    let panels = root.split_evenly((2, 2));
    for (i, (run, name)) in [("dfg2", "2D-2"), ("dfg3", "2D-3")].iter().enumerate() {
        let series = DFG_STEPS
            .iter()
            .map(|(dt, colour)| {
                Ok((
                    *dt,
                    *colour,
                    csv(&dir.join(format!("{run}_dt{dt}")).join("cylinder_coefficients.csv"))?,
                ))
            })
            .collect::<Result<Vec<_>, Box<dyn Error>>>()?;
        let t_end = series[0].2.last().map_or(1.0, |r| r[0]);
        let ranges = if i == 0 {
            [3.1..3.45, -1.4..1.4]
        } else {
            [-0.5..3.2, -0.6..0.6]
        };
        for (j, ((col, label), range)) in [(1, "c_D"), (2, "c_L")].into_iter().zip(ranges).enumerate() {
            // 2D-2 over its last time unit (about three periods of the shedding), 2D-3 whole.
            let t0 = if i == 0 { t_end - 1.0 } else { 0.0 };
            let mut chart = ChartBuilder::on(&panels[2 * i + j])
                .caption(format!("DFG {name}: {label}(t)"), ("sans-serif", 22))
                .margin(12)
                .x_label_area_size(40)
                .y_label_area_size(55)
                .build_cartesian_2d(t0..t_end, range)?;
            chart.configure_mesh().x_desc("t").y_desc(label).draw()?;
            for (dt, colour, rows) in &series {
                let points: Vec<(f64, f64)> = rows.iter().filter(|r| r[0] >= t0).map(|r| (r[0], r[col])).collect();
                chart
                    .draw_series(LineSeries::new(points, colour.stroke_width(2)))?
                    .label(format!("dt = {dt}"))
                    .legend(move |(x, y)| PathElement::new([(x, y), (x + 20, y)], colour.stroke_width(2)));
            }
            chart
                .configure_series_labels()
                .background_style(WHITE.mix(0.8))
                .border_style(BLACK)
                .draw()?;
        }
    }
    root.present()?;
    Ok(())
}

fn main() {
    let dir = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "benchmarks/results/navier_stokes".into());
    let run = || -> Result<(), Box<dyn Error>> {
        let font = std::fs::read("/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf")
            .map_err(|e| format!("DejaVuSans.ttf (apt-get install fonts-dejavu-core): {e}"))?;
        plotters::style::register_font("sans-serif", FontStyle::Normal, Box::leak(font.into_boxed_slice()))
            .map_err(|_| "the font could not be registered")?;
        let dir = Path::new(&dir);
        cavity(dir)?;
        if dir.join("dfg2_dt0.005").is_dir() && dir.join("dfg3_dt0.005").is_dir() {
            cylinder(dir)?;
        }
        Ok(())
    };
    if let Err(e) = run() {
        eprintln!("ns_plot: {e}");
        std::process::exit(1);
    }
}
