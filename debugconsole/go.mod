module xaa.example/debugconsole

go 1.26.0

replace xaa.example/shared => ../shared

require github.com/a-h/templ v0.3.977
