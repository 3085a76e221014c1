// Two folders that use each other, one of them only through a call in a method body: what the cycle test must find.
namespace CniBench.Tests.Architecture.CycleSample.Up
{
    public static class Caller
    {
        public static int Run() => Down.Callee.Answer() + 1;
    }
}

namespace CniBench.Tests.Architecture.CycleSample.Down
{
    public static class Callee
    {
        public static int Answer() => 41;

        public static System.Func<int> Back => Up.Caller.Run;
    }
}
