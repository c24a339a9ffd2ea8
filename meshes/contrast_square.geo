// High-contrast test geometry: the unit square with five thin horizontal channels and sixteen
// small disk inclusions, each a surface of its own so the mesh is conforming along every material
// interface and `--kappa-region channels=K --kappa-region inclusions=K` can set κ per region.
// The channels (width 1/32, 13/16 long) alternate between the left and the right side, so each
// reaches within 1/32 of one side wall but touches no boundary: they are floating in the
// Dirichlet problem and cross the interfaces of any balanced partition.
// Mesh size h is overridable: gmsh -2 contrast_square.geo -setnumber h 0.01 ...
DefineConstant[ h = {0.02, Name "h"} ];
w = 1 / 32;  // channel width
r = 0.03;    // inclusion radius

Point(1) = {0, 0, 0, h};
Point(2) = {1, 0, 0, h};
Point(3) = {1, 1, 0, h};
Point(4) = {0, 1, 0, h};
Line(1) = {1, 2};
Line(2) = {2, 3};
Line(3) = {3, 4};
Line(4) = {4, 1};
Curve Loop(1) = {1, 2, 3, 4};

holes[] = {};
channels[] = {};
inclusions[] = {};
// Channel j spans y in [0.12 + 0.18 j, 0.12 + 0.18 j + w]; even ones start near the left wall,
// odd ones end near the right wall.
For j In {0:4}
  y0 = 0.12 + 0.18 * j;
  If (j % 2 == 0)
    x0 = 1 / 32; x1 = 27 / 32;
  Else
    x0 = 5 / 32; x1 = 31 / 32;
  EndIf
  p = newp;
  Point(p) = {x0, y0, 0, h};
  Point(p + 1) = {x1, y0, 0, h};
  Point(p + 2) = {x1, y0 + w, 0, h};
  Point(p + 3) = {x0, y0 + w, 0, h};
  l = newl;
  Line(l) = {p, p + 1};
  Line(l + 1) = {p + 1, p + 2};
  Line(l + 2) = {p + 2, p + 3};
  Line(l + 3) = {p + 3, p};
  cl = newll;
  Curve Loop(cl) = {l, l + 1, l + 2, l + 3};
  s = news;
  Plane Surface(s) = {cl};
  holes[] += cl;
  channels[] += s;
EndFor
// Inclusions: disks of radius r on a 4 × 4 lattice, midway between neighbouring channels in y.
For i In {1:4}
  For j In {0:3}
    xc = 0.2 * i;
    yc = 0.12 + 0.18 * j + w + (0.18 - w) / 2;
    p = newp;
    Point(p) = {xc, yc, 0, h};
    Point(p + 1) = {xc + r, yc, 0, h};
    Point(p + 2) = {xc, yc + r, 0, h};
    Point(p + 3) = {xc - r, yc, 0, h};
    Point(p + 4) = {xc, yc - r, 0, h};
    l = newl;
    Circle(l) = {p + 1, p, p + 2};
    Circle(l + 1) = {p + 2, p, p + 3};
    Circle(l + 2) = {p + 3, p, p + 4};
    Circle(l + 3) = {p + 4, p, p + 1};
    cl = newll;
    Curve Loop(cl) = {l, l + 1, l + 2, l + 3};
    s = news;
    Plane Surface(s) = {cl};
    holes[] += cl;
    inclusions[] += s;
  EndFor
EndFor
matrix = news;
Plane Surface(matrix) = {1, holes[]};

Physical Curve("boundary", 4) = {1, 2, 3, 4};
Physical Surface("matrix", 1) = {matrix};
Physical Surface("channels", 2) = {channels[]};
Physical Surface("inclusions", 3) = {inclusions[]};
