/* nop.c: the smallest static program, which the exec benchmark runs: it exits 0 at once. */
int main(void)
{
	return 0;
}
