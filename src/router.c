/* router.c: being written */
