// DFG 3D flow-around-cylinder benchmark 3D-1Z (Schaefer & Turek 1996): channel
// 2.5 x 0.41 x 0.41, cylinder of diameter 0.1 along z through (0.5, 0.2). Extruded in two
// layers so that the circle at mid-height z = 0.205 holds the benchmark's pressure points
// (0.45, 0.2, 0.205) and (0.55, 0.2, 0.205) as mesh vertices.
DefineConstant[ h = {0.06, Name "h"} ];   // far-field size
DefineConstant[ hc = {0.015, Name "hc"} ]; // size on the cylinder
L = 2.5; H = 0.41; xc = 0.5; yc = 0.2; r = 0.05;
Point(1) = {0, 0, 0, h};
Point(2) = {L, 0, 0, h};
Point(3) = {L, H, 0, h};
Point(4) = {0, H, 0, h};
Point(5) = {xc, yc, 0, hc};
Point(6) = {xc + r, yc, 0, hc};
Point(7) = {xc, yc + r, 0, hc};
Point(8) = {xc - r, yc, 0, hc};
Point(9) = {xc, yc - r, 0, hc};
Line(1) = {1, 2}; // y = 0
Line(2) = {2, 3}; // outflow
Line(3) = {3, 4}; // y = H
Line(4) = {4, 1}; // inflow
Circle(5) = {6, 5, 7};
Circle(6) = {7, 5, 8};
Circle(7) = {8, 5, 9};
Circle(8) = {9, 5, 6};
Curve Loop(1) = {1, 2, 3, 4};
Curve Loop(2) = {5, 6, 7, 8};
Plane Surface(1) = {1, 2};
// Extrude returns the top surface, the volume, then one side per curve of the loops in order.
a[] = Extrude {0, 0, H / 2} { Surface{1}; };
b[] = Extrude {0, 0, H / 2} { Surface{a[0]}; };
Field[1] = Distance;
Field[1].SurfacesList = {a[6], a[7], a[8], a[9], b[6], b[7], b[8], b[9]};
Field[2] = Threshold;
Field[2].InField = 1;
Field[2].SizeMin = hc;
Field[2].SizeMax = h;
Field[2].DistMin = 0.02;
Field[2].DistMax = 0.4;
Background Field = 2;
Mesh.MeshSizeExtendFromBoundary = 0;
Mesh.MeshSizeFromPoints = 0;
Physical Surface("inflow", 1) = {a[5], b[5]};
Physical Surface("outflow", 2) = {a[3], b[3]};
Physical Surface("walls", 3) = {1, b[0], a[2], a[4], b[2], b[4]};
Physical Surface("cylinder", 4) = {a[6], a[7], a[8], a[9], b[6], b[7], b[8], b[9]};
Physical Volume("fluid", 5) = {a[1], b[1]};
