// Unit cube [0,1]^3 meshed with tetrahedra; six named faces (OpenCASCADE kernel).
SetFactory("OpenCASCADE");
DefineConstant[ h = {0.12, Name "h"} ];
Box(1) = {0, 0, 0, 1, 1, 1};
MeshSize{ PointsOf{ Volume{1}; } } = h;
eps = 1e-6;
Physical Surface("xmin", 1) = Surface In BoundingBox{-eps, -eps, -eps, eps, 1+eps, 1+eps};
Physical Surface("xmax", 2) = Surface In BoundingBox{1-eps, -eps, -eps, 1+eps, 1+eps, 1+eps};
Physical Surface("ymin", 3) = Surface In BoundingBox{-eps, -eps, -eps, 1+eps, eps, 1+eps};
Physical Surface("ymax", 4) = Surface In BoundingBox{-eps, 1-eps, -eps, 1+eps, 1+eps, 1+eps};
Physical Surface("zmin", 5) = Surface In BoundingBox{-eps, -eps, -eps, 1+eps, 1+eps, eps};
Physical Surface("zmax", 6) = Surface In BoundingBox{-eps, -eps, 1-eps, 1+eps, 1+eps, 1+eps};
Physical Volume("domain", 7) = {1};
