// DFG 2D flow-around-cylinder benchmark (Schaefer & Turek 1996): channel 2.2 x 0.41,
// cylinder of radius 0.05 centred at (0.2, 0.2). Finer mesh near the cylinder.
DefineConstant[ h = {0.04, Name "h"} ];  // far-field size
DefineConstant[ hc = {0.008, Name "hc"} ]; // size on the cylinder
L = 2.2; H = 0.41; xc = 0.2; yc = 0.2; r = 0.05;
Point(1) = {0, 0, 0, h};
Point(2) = {L, 0, 0, h};
Point(3) = {L, H, 0, h};
Point(4) = {0, H, 0, h};
Point(5) = {xc, yc, 0, hc};
Point(6) = {xc + r, yc, 0, hc};
Point(7) = {xc, yc + r, 0, hc};
Point(8) = {xc - r, yc, 0, hc};
Point(9) = {xc, yc - r, 0, hc};
Line(1) = {1, 2}; // bottom wall
Line(2) = {2, 3}; // outflow
Line(3) = {3, 4}; // top wall
Line(4) = {4, 1}; // inflow
Circle(5) = {6, 5, 7};
Circle(6) = {7, 5, 8};
Circle(7) = {8, 5, 9};
Circle(8) = {9, 5, 6};
Curve Loop(1) = {1, 2, 3, 4};
Curve Loop(2) = {5, 6, 7, 8};
Plane Surface(1) = {1, 2};
// Grade the size from hc at the cylinder to h about 0.3 away.
Field[1] = Distance;
Field[1].CurvesList = {5, 6, 7, 8};
Field[2] = Threshold;
Field[2].InField = 1;
Field[2].SizeMin = hc;
Field[2].SizeMax = h;
Field[2].DistMin = 0.02;
Field[2].DistMax = 0.3;
Background Field = 2;
Physical Curve("inflow", 1) = {4};
Physical Curve("outflow", 2) = {2};
Physical Curve("walls", 3) = {1, 3};
Physical Curve("cylinder", 4) = {5, 6, 7, 8};
Physical Surface("fluid", 5) = {1};
