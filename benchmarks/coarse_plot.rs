//! Table and figure of the coarse-space study (`benchmarks/coarse_study.sh`): reads the JSON
//! reports `PROBLEM_SOLVER_NN.json` of a directory (SOLVER a preset, or a FETI preset with
//! `-deluxe` for its run with deluxe scaling), writes `study.csv` (problem, method, N,
//! iterations, coarse dimension, condition estimate, preconditioner set-up and solve seconds) and
//! `coarse_study.png`
//! (iterations against N, one panel per 2D problem: structured grid and Gmsh mesh, homogeneous and
//! contrast 1e6; one line per method). Text is drawn with the DejaVu Sans font of Debian's
//! `fonts-dejavu-core`.
//!
//! Usage: `coarse_plot DIR`.

use plotters::prelude::*;
use std::error::Error;
use std::path::Path;

/// The methods in the order of the legend, with their preset names and colours.
const METHODS: [(&str, &str, RGBColor); 9] = [
    ("cg-asm", "one-level ASM", RGBColor(120, 120, 120)),
    ("cg-nicolaides", "Nicolaides", RGBColor(31, 119, 180)),
    ("cg-geneo", "GenEO", RGBColor(214, 39, 40)),
    ("cg-gdsw", "GDSW", RGBColor(44, 160, 44)),
    ("feti1", "FETI-1", RGBColor(148, 103, 189)),
    ("feti-dp", "FETI-DP", RGBColor(255, 127, 14)),
    ("bddc", "BDDC", RGBColor(140, 86, 75)),
    ("feti-dp-deluxe", "FETI-DP deluxe", RGBColor(227, 119, 194)),
    ("bddc-deluxe", "BDDC deluxe", RGBColor(23, 190, 207)),
];

/// One run of the study.
struct Row {
    problem: String,
    method: String,
    n: u32,
    iterations: u64,
    coarse_dimension: u64,
    /// The CG Lanczos estimate of the preconditioned condition number (NaN when not reported).
    condition: f64,
    pc_setup: f64,
    solve: f64,
}

fn read_rows(dir: &Path) -> Result<Vec<Row>, Box<dyn Error>> {
    let mut rows = Vec::new();
    for entry in std::fs::read_dir(dir)? {
        let path = entry?.path();
        let stem = path
            .file_stem()
            .and_then(|s| s.to_str())
            .unwrap_or_default()
            .to_string();
        // PROBLEM_SOLVER_NN: the problem and the solver never contain '_'.
        let parts: Vec<&str> = stem.split('_').collect();
        let (Some("json"), [problem, method, n]) = (path.extension().and_then(|e| e.to_str()), parts.as_slice()) else {
            continue;
        };
        let Some(n) = n.strip_prefix('N').and_then(|n| n.parse().ok()) else {
            continue;
        };
        let r: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(&path)?)?;
        rows.push(Row {
            problem: problem.to_string(),
            method: method.to_string(),
            n,
            iterations: r["stats"]["iterations"].as_u64().ok_or("report without iterations")?,
            coarse_dimension: r["coarse_dimension"].as_u64().unwrap_or(0),
            condition: r["stats"]["condition_estimate"].as_f64().unwrap_or(f64::NAN),
            pc_setup: r["wall"]["pc_setup"].as_f64().unwrap_or(f64::NAN),
            solve: r["wall"]["solve"].as_f64().unwrap_or(f64::NAN),
        });
    }
    rows.sort_by(|a, b| (&a.problem, &a.method, a.n).cmp(&(&b.problem, &b.method, b.n)));
    Ok(rows)
}

fn write_csv(dir: &Path, rows: &[Row]) -> Result<(), Box<dyn Error>> {
    let mut text =
        String::from("problem,method,subdomains,iterations,coarse_dimension,condition_estimate,pc_setup_s,solve_s\n");
    for r in rows {
        text += &format!(
            "{},{},{},{},{},{:.3},{:.4},{:.4}\n",
            r.problem, r.method, r.n, r.iterations, r.coarse_dimension, r.condition, r.pc_setup, r.solve
        );
    }
    std::fs::write(dir.join("study.csv"), text)?;
    Ok(())
}

fn plot(dir: &Path, rows: &[Row]) -> Result<(), Box<dyn Error>> {
    let font = std::fs::read("/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf")
        .map_err(|e| format!("DejaVuSans.ttf (apt-get install fonts-dejavu-core): {e}"))?;
    plotters::style::register_font("sans-serif", FontStyle::Normal, Box::leak(font.into_boxed_slice()))
        .map_err(|_| "the font could not be registered")?;
    let file = dir.join("coarse_study.png");
    let root = BitMapBackend::new(&file, (1200, 1040)).into_drawing_area();
    root.fill(&WHITE)?;
    // Rows: structured grid, Gmsh mesh; columns: homogeneous, contrast 1e6, so each column
    // compares the two meshes of one coefficient.
    let panels = root.split_evenly((2, 2));
    for (area, (problem, title)) in panels.iter().zip([
        ("2d-homogeneous", "2D P1 Poisson, grid, homogeneous"),
        ("2d-contrast-1e6", "2D P1 Poisson, grid, contrast 1e6"),
        ("2d-gmsh-homogeneous", "Gmsh contrast_square, homogeneous"),
        ("2d-gmsh-contrast-1e6", "Gmsh contrast_square, regions 1e6"),
    ]) {
        let top = rows
            .iter()
            .filter(|r| r.problem == problem)
            .map(|r| r.iterations)
            .max()
            .unwrap_or(10) as f64;
        let mut chart = ChartBuilder::on(area)
            .caption(title, ("sans-serif", 22))
            .margin(12)
            .x_label_area_size(40)
            .y_label_area_size(55)
            .build_cartesian_2d(
                (2u32..9u32).with_key_points(vec![2, 4, 6, 8]),
                (5.0..top * 1.6).log_scale(),
            )?;
        chart
            .configure_mesh()
            .x_desc("subdomains N")
            .y_desc("CG iterations (rtol 1e-8)")
            .x_label_formatter(&|e| format!("{}", 1u32 << e))
            .draw()?;
        for (method, label, colour) in METHODS {
            let points: Vec<(u32, f64)> = rows
                .iter()
                .filter(|r| r.problem == problem && r.method == method)
                .map(|r| (r.n.trailing_zeros(), r.iterations as f64))
                .collect();
            chart
                .draw_series(LineSeries::new(points.clone(), colour.stroke_width(2)))?
                .label(label)
                .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 20, y)], colour.stroke_width(2)));
            chart.draw_series(points.iter().map(|&p| Circle::new(p, 4, colour.filled())))?;
        }
        chart
            .configure_series_labels()
            .position(SeriesLabelPosition::UpperLeft)
            .background_style(WHITE.mix(0.8))
            .border_style(BLACK)
            .label_font(("sans-serif", 16))
            .draw()?;
    }
    root.present()?;
    Ok(())
}

fn main() {
    let Some(dir) = std::env::args().nth(1) else {
        eprintln!("usage: coarse_plot DIR");
        std::process::exit(2);
    };
    let dir = Path::new(&dir);
    let result = read_rows(dir).and_then(|rows| {
        if rows.is_empty() {
            return Err(format!("no PROBLEM_SOLVER_NN.json reports in {}", dir.display()).into());
        }
        write_csv(dir, &rows)?;
        plot(dir, &rows)?;
        println!(
            "wrote {} and {}",
            dir.join("study.csv").display(),
            dir.join("coarse_study.png").display()
        );
        Ok(())
    });
    if let Err(e) = result {
        eprintln!("coarse_plot: error: {e}");
        std::process::exit(1);
    }
}
