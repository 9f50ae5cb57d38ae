module skiff.test/incluster

go 1.19
