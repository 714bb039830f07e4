export function Logo({ size = 32 }: { size?: number }) {
  return (
    <svg width={size} height={size} viewBox="0 0 64 64" aria-hidden="true">
      <rect width="64" height="64" rx="14" fill="#1f5eff" />
      <path d="M18 20h14a12 12 0 0 1 0 24H18z" fill="none" stroke="#fff" strokeWidth="6" />
      <circle cx="46" cy="32" r="5" fill="#7fe0c4" />
    </svg>
  );
}
